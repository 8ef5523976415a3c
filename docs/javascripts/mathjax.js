// MathJax settings. Only two kinds of element are typeset: the spans of
// pymdownx.arithmatex (generic mode, \( \) and \[ \]) and the Markdown cells
// of rendered notebooks ($ and $$). Typesetting reruns after Material's
// instant navigation replaces the page.
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"], ["$", "$"]],
    displayMath: [["\\[", "\\]"], ["$$", "$$"]],
    processEscapes: true,
    processEnvironments: true,
  },
  svg: {
    fontCache: "global",
  },
  options: {
    // Everything inside Material's page container is skipped, except the
    // subtrees below. The usual ".*|" would also match the empty class of the
    // <p> elements inside a notebook cell and skip them again.
    ignoreHtmlClass: "md-container",
    processHtmlClass: "arithmatex|jp-RenderedMarkdown",
  },
};

if (typeof document$ !== "undefined") {
  document$.subscribe(() => {
    if (window.MathJax.typesetPromise) {
      MathJax.typesetClear();
      MathJax.texReset();
      MathJax.typesetPromise();
    }
  });
}
