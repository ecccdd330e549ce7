/*
 * Search excerpts from each page's article text (see book/_ext/search_excerpts.py).
 *
 * Sphinx's search page fetch()es each result page to show the text around the query word.
 * Browsers refuse fetch() of file:// URLs, and the theme's role="main" also holds the page's
 * table of contents, so this answers those requests from _static/search_excerpts_data.js,
 * the article text the build wrote from the same pages. A page missing there is fetched.
 */
(() => {
  "use strict";
  const root = new URL(document.documentElement.dataset.content_root || "./", document.baseURI);
  const texts = new Promise((resolve) => {
    const script = document.createElement("script");
    script.src = new URL("_static/search_excerpts_data.js", root).href;
    script.onload = () => resolve(window.SEARCH_EXCERPTS || {});
    script.onerror = () => resolve({});
    document.head.appendChild(script);
  });

  const pageFetch = window.fetch.bind(window);
  window.fetch = (resource, options) => {
    const url = new URL(resource instanceof Request ? resource.url : String(resource), document.baseURI);
    const inBook = url.href.startsWith(root.href) && url.pathname.endsWith(".html");
    if (!inBook) return pageFetch(resource, options);
    const path = url.href.slice(root.href.length).replace(/[?#].*$/, "");
    const docname = decodeURIComponent(path.slice(0, -".html".length));
    return texts.then((pages) =>
      Object.prototype.hasOwnProperty.call(pages, docname)
        ? new Response('<div role="main">' + pages[docname] + "</div>",
                       { headers: { "Content-Type": "text/html; charset=utf-8" } })
        : pageFetch(resource, options));
  };
})();
