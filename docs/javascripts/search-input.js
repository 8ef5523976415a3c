// Run the search when text arrives without a key press. Material starts a search
// on keyup, but Hangul composed with an input method, text pasted with the mouse
// and text filled in by a script reach the search box as input events alone.
document.addEventListener("input", (event) => {
  const field = event.target;
  if (field instanceof HTMLInputElement && field.matches("[data-md-component='search-query']")) {
    field.dispatchEvent(new KeyboardEvent("keyup", { bubbles: true }));
  }
});
