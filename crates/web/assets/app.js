// quietlegs: progressive enhancement only; every page works without this file.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // Tonight: one tap on a score moves the focus on to the next group.
  for (const row of document.querySelectorAll(".score-row")) {
    row.addEventListener("change", () => {
      const next = row.closest("fieldset")?.nextElementSibling?.querySelector("input");
      if (next) next.focus({ preventScroll: true });
    });
  }
});
