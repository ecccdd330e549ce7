"""Search results with an excerpt of the matching text, also when the book is opened from disk.

Sphinx's search page (``searchtools.js`` in Sphinx 7.4, ``_displayItem``) shows under each result
an excerpt of the page around the query word. To get the page's text it ``fetch()``-es the result's
HTML page and reads the element with ``role="main"``. Two things went wrong in this book:

* a browser refuses ``fetch()`` of a ``file://`` URL, and ``jupyter-book build`` tells readers to
  open ``file://.../index.html``: there the search listed bare page titles without any text;
* in sphinx-book-theme, ``role="main"`` also holds the article header with the page's table of
  contents, so over HTTP an excerpt often showed section titles instead of the sentence that
  uses the word.

This extension keeps Sphinx's search as it is and gives it the text of the article itself:

* after the HTML build, :func:`write_excerpt_data` reads the ``<article class="bd-article">`` of
  every built page and writes it, reduced to text and to the ``<section id=...>`` elements that
  search anchors point at, into ``_static/search_excerpts_data.js``;
* the search page (only that page) loads ``_static/search_excerpts.js``, which answers Sphinx's
  ``fetch()`` of a book page from that data (a page missing there is fetched as before).

Enable it in ``_config.yml``::

    sphinx:
      local_extensions:
        search_excerpts: book/_ext
      config:
        html_static_path: [book/_static]   # holds search_excerpts.js
"""

from __future__ import annotations

import json
from html import escape
from html.parser import HTMLParser
from pathlib import Path

SHIM_JS = "search_excerpts.js"
ARTICLE_CLASS = "bd-article"  # pydata-sphinx-theme's (and so sphinx-book-theme's) page content
DATA_JS = "search_excerpts_data.js"
# Elements whose text is no part of an excerpt (Sphinx's htmlToText drops these too).
SKIPPED_TAGS = {"script", "style"}
SKIPPED_CLASSES = {"headerlink"}
VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _MainText(HTMLParser):
    """Collect the text of ``<article class="bd-article">``, keeping ``<section id>`` elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._stack: list[tuple[str, bool, bool, bool]] = []  # tag, opens main, kept section, skipped
        self._in_main = 0
        self._skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in VOID_TAGS:
            return
        attrs = dict(attrs)
        classes = set((attrs.get("class") or "").split())
        opens_main = tag == "article" and ARTICLE_CLASS in classes
        skip = tag in SKIPPED_TAGS or bool(SKIPPED_CLASSES & classes)
        keep = bool(self._in_main and not self._skipping and tag == "section" and attrs.get("id"))
        self._stack.append((tag, opens_main, keep, skip))
        self._in_main += opens_main
        self._skipping += skip
        if keep:
            self.out.append(f'<section id="{escape(attrs["id"])}">')

    def handle_endtag(self, tag):
        if tag in VOID_TAGS:
            return
        # close up to the matching start tag (tolerates elements closed implicitly, like <p>)
        while self._stack:
            open_tag, opens_main, keep, skip = self._stack.pop()
            self._in_main -= opens_main
            self._skipping -= skip
            if keep:
                self.out.append("</section>")
            if open_tag == tag:
                break

    def handle_data(self, data):
        if self._in_main and not self._skipping:
            self.out.append(escape(data, quote=False))


def main_text(page_html: str) -> str:
    """Return a page's article as text, with its ``<section id>`` elements kept.

    Args:
        page_html: A built HTML page.

    Returns:
        Markup that Sphinx's ``Search.htmlToText`` reads like the page itself, once wrapped in an
        element with ``role="main"``; an empty string when the page has no such article.
    """
    parser = _MainText()
    parser.feed(page_html)
    parser.close()
    return "".join(parser.out)


def write_excerpt_data(app, exception) -> None:
    """Write every built page's article text to ``_static/search_excerpts_data.js``."""
    if exception is not None or app.builder.format != "html" or not app.builder.search:
        return
    outdir = Path(app.outdir)
    texts = {}
    for docname in sorted(app.env.found_docs):
        page = Path(app.builder.get_outfilename(docname))
        if page.is_file():
            text = main_text(page.read_text(encoding="utf-8"))
            if text:
                texts[docname] = text
    data = json.dumps(texts, ensure_ascii=False, separators=(",", ":"))
    # "</" cannot end the script early: the data is loaded with <script src>, not inlined
    (outdir / "_static" / DATA_JS).write_text(f"window.SEARCH_EXCERPTS = {data};\n", encoding="utf-8")


def add_shim_to_search_page(app, pagename, templatename, context, doctree) -> None:
    """Load the fetch shim on the search page only (a per-page asset, Sphinx >= 3.5)."""
    if pagename == "search":
        app.add_js_file(SHIM_JS)


def setup(app):
    app.connect("html-page-context", add_shim_to_search_page)
    app.connect("build-finished", write_excerpt_data)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
