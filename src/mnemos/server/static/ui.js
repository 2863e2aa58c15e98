// mnemos dashboard: small progressive enhancements; every page works without them.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // Click a memory id to copy it.
  for (const el of document.querySelectorAll("[data-testid=memory-id]")) {
    el.title = "click to copy";
    el.style.cursor = "copy";
    el.addEventListener("click", () => navigator.clipboard && navigator.clipboard.writeText(el.textContent));
  }
  // Keyboard: "/" focuses the search box.
  const search = document.querySelector("input[type=search]");
  if (search) {
    document.addEventListener("keydown", (ev) => {
      if (ev.key === "/" && document.activeElement.tagName !== "INPUT" && document.activeElement.tagName !== "TEXTAREA") {
        ev.preventDefault();
        search.focus();
      }
    });
  }
});
