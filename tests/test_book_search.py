"""The built book's search page finds Korean words, and its pages fit the screen, tested the way a
reader meets them.

The book is built once per session into a temporary directory from a copy of the sources
(`_config.yml`, `_toc.yml`, `book/`) with notebook execution turned off: the notebooks are
committed executed, and search only needs their text, so this takes seconds, not the minutes of
`make book`. A small fixture page, added to the copy's table of contents, uses the query words only
with particles glued on, the case Sphinx's own splitter misses. Then the real `search.html` is
opened in headless Chromium for each query and the result list is read from the DOM.

To check a real chapter, add a row to SEARCHES (docnames are paths without the extension). The
layout checks measure LAYOUT_PAGES at the default window width in the same browser.
"""

import functools
import html
import http.server
import json
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent

FIXTURE_DOC = "book/search_fixture"
FIXTURE_TEXT = """\
# 검색 확인용 페이지

이 페이지는 검색 테스트만을 위한 것입니다. 아래 문장은 찾는 말을 모두 조사나 어미와 붙여 씁니다.

개인 키를 잃어버리면 인증서를 다시 발급해야 합니다.
사용자는 그룹에 속하고, 인증 기관은 인증서에 서명합니다.
서명된 인증서의 키와 그룹이 무엇인지 확인합니다.
"""

# query -> docnames that must be listed on the search page for it
SEARCHES = [
    ("인증서", ["book/intro", FIXTURE_DOC, "book/01_x509_pki", "book/04_mtls", "book/05_kubeadm_certs"]),
    ("그룹", ["book/intro", FIXTURE_DOC, "book/00_intro_auth", "book/06_new_user", "book/07_wrapup"]),
    ("서명", ["book/intro", FIXTURE_DOC, "book/01_x509_pki", "book/04_mtls", "book/06_new_user"]),
    ("키", ["book/intro", FIXTURE_DOC, "book/01_x509_pki", "book/02_issue_certs", "book/04_mtls"]),
    ("인증", ["book/00_intro_auth", "book/appendix_glossary"]),
    ("쿠버네티스", ["book/intro", "book/00_intro_auth"]),
    ("kubeconfig", ["book/intro"]),  # Latin words keep English behaviour
]
# queries that must find nothing at all
NOTHING = ["쀍뷁똠", "qzxwvjk"]

BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def _browser():
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    pytest.fail(
        f"no headless browser found (tried {', '.join(BROWSERS)}); run `make test`, which installs Debian's chromium"
    )


def _toc_with_fixture(toc):
    entry = {"file": FIXTURE_DOC}
    if "parts" in toc:
        toc["parts"][-1]["chapters"].append(entry)
    else:
        toc.setdefault("chapters", []).append(entry)
    return toc


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    """Build the book (no execution) plus the fixture page; return the html directory. Warnings
    fail the build, as in `make book` (-W): a docstring the API appendix cannot render fails here,
    minutes before `make book` would."""
    src = tmp_path_factory.mktemp("book-src")
    shutil.copytree(
        ROOT / "book", src / "book", ignore=shutil.ignore_patterns("work", ".ipynb_checkpoints", "__pycache__")
    )
    (src / "book" / "search_fixture.md").write_text(FIXTURE_TEXT, encoding="utf-8")

    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    config.setdefault("execute", {})["execute_notebooks"] = "off"
    (src / "_config.yml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    toc = _toc_with_fixture(yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8")))
    (src / "_toc.yml").write_text(yaml.safe_dump(toc, allow_unicode=True), encoding="utf-8")

    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    result = subprocess.run(
        [str(jupyter_book), "build", "--all", "-W", "--keep-going", "--quiet", "--path-output", str(src), str(src)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = src / "_build" / "html"
    assert (out / "search.html").is_file()
    return out


def _dom(browser, url):
    """Open URL in headless Chromium the way a reader does (no extra file access); return the DOM."""
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        return subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                "--virtual-time-budget=5000",
                "--dump-dom",
                url,
            ],
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout


def _result_items(dom, query):
    """The search page's result list as (docname, excerpt text) pairs."""
    # The search has run when its summary paragraph is filled in ("... 개의 페이지를 찾았습니다" or
    # "... 일치하는 문서가 없습니다"); only then is an empty list a real "nothing found".
    summary = re.search(r'<p class="search-summary">(.*?)</p>', dom, re.S)
    assert summary and summary.group(1).strip(), f"search did not finish for {query!r}"
    results = re.search(r'<ul class="search">(.*?)</ul>', dom, re.S)
    items = []
    for item in re.findall(r"<li>(.*?)</li>", results.group(1), re.S) if results else []:
        href = re.search(r'<a href="([^"#?]+)\.html', item)
        context = re.search(r'<p class="context">(.*?)</p>', item, re.S)
        excerpt = html.unescape(re.sub(r"<[^>]+>", "", context.group(1))) if context else ""
        items.append((html.unescape(href.group(1)), excerpt))
    return items


def _search(browser, site, query):
    """Open search.html?q=QUERY from disk in headless Chromium; return the result docnames."""
    dom = _dom(browser, (site / "search.html").as_uri() + "?q=" + quote(query))
    return [docname for docname, _ in _result_items(dom, query)]


@pytest.fixture(scope="session")
def results(site):
    browser = _browser()
    queries = [q for q, _ in SEARCHES] + NOTHING
    with ThreadPoolExecutor(max_workers=3) as pool:
        found = pool.map(lambda q: _search(browser, site, q), queries)
        return dict(zip(queries, found, strict=True))


@pytest.mark.parametrize("query,docnames", SEARCHES, ids=[q for q, _ in SEARCHES])
def test_search_lists_the_pages_that_use_the_word(results, query, docnames):
    found = results[query]
    for docname in docnames:
        assert docname in found, f"searching {query!r} did not list {docname}: {found}"


@pytest.mark.parametrize("query", NOTHING)
def test_nonsense_query_finds_nothing(results, query):
    assert results[query] == []


def test_fixture_page_has_no_bare_query_words():
    # The fixture must exercise particle stripping: no query word stands alone there.
    words = set(re.findall(r"\w+", FIXTURE_TEXT))
    assert not words & {"키", "그룹", "서명", "인증서"}


def test_search_index_has_the_stems(site):
    raw = (site / "searchindex.js").read_text(encoding="utf-8")
    index = json.loads(raw[raw.index("(") + 1 : raw.rindex(")")])
    fixture = index["docnames"].index(FIXTURE_DOC)
    for term in ("키", "그룹", "서명", "인증서"):
        docs = index["terms"].get(term, [])
        assert fixture in (docs if isinstance(docs, list) else [docs]), term


def test_pages_are_korean_and_load_nothing_from_the_network(site):
    pages = sorted(site.rglob("*.html"))
    assert pages
    external = re.compile(r'<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)="(?:https?:)?//', re.I)
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert not external.search(text), f"{page.relative_to(site)} loads from the network"
        assert "mathjax" not in text.lower(), f"{page.relative_to(site)} loads MathJax"
    intro = (site / "book" / "intro.html").read_text(encoding="utf-8")
    assert '<html lang="ko"' in intro


def _korean_language():
    sys.path.insert(0, str(ROOT / "book" / "_ext"))
    try:
        from korean_search import SearchKorean
    finally:
        sys.path.remove(str(ROOT / "book" / "_ext"))
    return SearchKorean({})


@pytest.mark.parametrize(
    "text,wanted,unwanted",
    [
        ("개인 키를 잃어버리면", {"키를", "키", "개인"}, set()),
        ("인증 기관이 서명합니다", {"서명합니다", "서명", "기관"}, set()),
        ("그룹에서도 그룹이나", {"그룹에서도", "그룹에서", "그룹"}, set()),
        ("키워드", {"키워드", "키워"}, {"키"}),  # no one-syllable prefixes
        ("kubectl을 CN과", {"kubectl을", "kubectl", "CN"}, {"을", "과"}),
    ],
)
def test_korean_split(text, wanted, unwanted):
    terms = set(_korean_language().split(text))
    assert wanted <= terms
    assert not unwanted & terms


def test_korean_stem_leaves_hangul_alone_and_stems_english():
    # (the JavaScript side is checked end to end by the Chromium searches above)
    lang = _korean_language()
    assert lang.stem("인증서를") == "인증서를"
    assert lang.stem("certificates") == lang.stem("certificate") == "certif"


# --- excerpts under the results (book/_ext/search_excerpts.py) ---------------------------------

EXCERPT_QUERY = "인증서"


def _excerpts(browser, url):
    return _result_items(_dom(browser, url + "?q=" + quote(EXCERPT_QUERY)), EXCERPT_QUERY)


def _assert_every_result_has_an_excerpt(items):
    assert len(items) >= 5, items
    for docname, excerpt in items:
        assert EXCERPT_QUERY in excerpt, f"{docname}: no excerpt with {EXCERPT_QUERY!r}: {excerpt!r}"
        # taken from the article, not from the page's table of contents in the theme's header
        # (chapters start with the sections 개요, 준비: only a table of contents lists them in a row)
        assert "개요 준비" not in excerpt, f"{docname}: excerpt from the table of contents: {excerpt!r}"
    fixture = dict(items)[FIXTURE_DOC]
    assert "인증서를 다시 발급해야 합니다" in fixture, fixture


def test_search_shows_excerpts_when_the_book_is_opened_from_disk(site):
    # file:// is what `jupyter-book build` tells readers to open; browsers refuse fetch() there
    _assert_every_result_has_an_excerpt(_excerpts(_browser(), (site / "search.html").as_uri()))


def test_without_the_excerpt_data_the_page_from_disk_lists_bare_titles(site):
    # The cause, shown: Sphinx's own search page without search_excerpts.js finds the same pages
    # from disk but cannot fetch() them, so no result has any text.
    page = (site / "search.html").read_text(encoding="utf-8")
    shim = re.compile(r'<script src="_static/search_excerpts\.js[^"]*"></script>\s*')
    assert shim.search(page), "search.html does not load search_excerpts.js"
    bare = site / "search_without_excerpts.html"
    bare.write_text(shim.sub("", page), encoding="utf-8")
    try:
        items = _excerpts(_browser(), bare.as_uri())
    finally:
        bare.unlink()
    assert len(items) >= 5
    assert all(excerpt == "" for _, excerpt in items), items


def test_search_shows_excerpts_over_http(site):
    # Served over HTTP (the book on a web server) the same excerpts are shown.
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    handler.log_message = lambda *args: None
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            items = _excerpts(_browser(), f"http://127.0.0.1:{server.server_port}/search.html")
        finally:
            server.shutdown()
    _assert_every_result_has_an_excerpt(items)


def test_only_the_search_page_loads_the_excerpt_shim(site):
    assert "search_excerpts.js" not in (site / "book" / "intro.html").read_text(encoding="utf-8")
    data = (site / "_static" / "search_excerpts_data.js").read_text(encoding="utf-8")
    texts = json.loads(data[data.index("=") + 1 : data.rindex(";")])
    assert set(texts) >= {FIXTURE_DOC, "book/intro", "book/04_mtls"}
    assert "<script" not in texts["book/04_mtls"]


def _excerpt_extension():
    sys.path.insert(0, str(ROOT / "book" / "_ext"))
    try:
        import search_excerpts
    finally:
        sys.path.remove(str(ROOT / "book" / "_ext"))
    return search_excerpts


def test_main_text_keeps_sections_and_drops_scripts_and_header_links():
    page = (
        '<html><body><nav>메뉴</nav><main role="main"><div class="bd-header-article">개요 준비'
        '</div><article class="bd-article"><section id="a-b"><h1>제목'
        '<a class="headerlink" href="#a-b">#</a></h1><p>인증서 &amp; 키<br>다음 줄</p>'
        '<script>var x = "<b>";</script></section></article></main><footer>바닥</footer>'
        "</body></html>"
    )
    text = _excerpt_extension().main_text(page)
    assert text == '<section id="a-b">제목인증서 &amp; 키다음 줄</section>'


def test_main_text_of_a_page_without_an_article_is_empty():
    page = '<html><body><main role="main"><p>인증서</p></main></body></html>'
    assert _excerpt_extension().main_text(page) == ""


# --- pages at the default width (book/_static/k8sauth.css) ---------------------------------------

LAYOUT_PAGES = [
    "book/00_intro_auth",
    "book/04_mtls",
    "book/06_new_user",
    "book/08_csr_api",
    "book/appendix_troubleshooting",
]
WINDOW = "1280,900"
# Run in the page after load: every <pre> of the article whose text is wider than its box (a
# horizontal scroll bar), every image or SVG reaching past the text column, and the page's width.
MEASURE = """<script>
window.addEventListener("load", () => setTimeout(() => {
  const article = document.querySelector(".bd-article");
  const right = article.getBoundingClientRect().right;
  const report = {page: document.documentElement.scrollWidth, window: window.innerWidth, pre: [], img: []};
  for (const el of article.querySelectorAll("pre"))
    if (el.clientWidth && el.scrollWidth > el.clientWidth + 1)
      report.pre.push(el.textContent.split("\\n").reduce((a, b) => (b.length > a.length ? b : a)));
  for (const el of article.querySelectorAll("img, svg"))
    if (el.getBoundingClientRect().width && el.getBoundingClientRect().right > right + 1)
      report.img.push(el.getAttribute("src") || el.tagName);
  const out = document.createElement("output");
  out.id = "layout-report";
  out.textContent = JSON.stringify(report);
  document.body.appendChild(out);
}, 100));
</script></body>"""


def _layout(browser, site, docname, without_css=False):
    """Load a copy of the page with MEASURE added (optionally without k8sauth.css); return the report."""
    page = site / f"{docname}.html"
    text = page.read_text(encoding="utf-8").replace("</body>", MEASURE, 1)
    if without_css:
        text, removed = re.subn(r'<link rel="stylesheet"[^>]*k8sauth\.css[^>]*/>', "", text)
        assert removed == 1
    copy = page.with_name(f"{page.stem}.layout-{int(without_css)}.html")
    copy.write_text(text, encoding="utf-8")
    try:
        with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
            dom = subprocess.run(
                [
                    browser,
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    f"--user-data-dir={profile}",
                    f"--window-size={WINDOW}",
                    "--virtual-time-budget=5000",
                    "--dump-dom",
                    copy.as_uri(),
                ],
                capture_output=True,
                text=True,
                timeout=120,
            ).stdout
    finally:
        copy.unlink()
    found = re.search(r'<output id="layout-report">(.*?)</output>', dom, re.S)
    assert found, f"{docname}: the layout script did not report"
    return json.loads(html.unescape(found.group(1)))


@pytest.fixture(scope="session")
def layouts(site):
    browser = _browser()
    jobs = [(docname, False) for docname in LAYOUT_PAGES] + [(LAYOUT_PAGES[2], True)]
    with ThreadPoolExecutor(max_workers=3) as pool:
        reports = pool.map(lambda job: _layout(browser, site, *job), jobs)
        return dict(zip(jobs, reports, strict=True))


@pytest.mark.parametrize("docname", LAYOUT_PAGES)
def test_code_outputs_and_figures_fit_the_column(layouts, docname):
    report = layouts[(docname, False)]
    assert report["pre"] == [], f"{docname}: lines scroll sideways: {report['pre'][:3]}"
    assert report["img"] == [], f"{docname}: figures wider than the text column: {report['img']}"
    assert report["page"] <= report["window"], f"{docname}: the page scrolls sideways: {report}"


def test_without_the_book_css_long_lines_scroll_sideways(layouts):
    # The measurement sees the problem it guards against: the theme alone scrolls long lines.
    assert len(layouts[(LAYOUT_PAGES[2], True)]["pre"]) >= 5
