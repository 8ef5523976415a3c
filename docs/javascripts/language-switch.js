// Keep the reader's section when switching language. Both translations of a
// page share their explicit heading anchors, so the current address's #anchor
// is carried over to the other language's page. Material's navigation.tracking
// feature keeps that anchor in the address while the reader scrolls.
document.addEventListener(
  "click",
  (event) => {
    const link = event.target.closest("a.md-select__link[hreflang]");
    if (!link || !window.location.hash) {
      return;
    }
    const target = new URL(link.href, window.location.href);
    target.hash = window.location.hash;
    link.href = target.href;
  },
  true,
);
