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
  // Foods: suggestions as you type, from the search API; arrows move through them.
  const form = document.querySelector("form[data-suggest]");
  if (form) {
    const q = form.querySelector("#q"), list = document.getElementById("food-hits"),
      status = document.getElementById("food-status");
    let timer, seq = 0;
    const mg = (v) => Math.round(v) + " mg";
    const item = (words, h) => {
      const li = document.createElement("li"), a = document.createElement("a"),
        name = document.createElement("span"), hint = document.createElement("span"), p = h.portion;
      a.href = "/foods?q=" + encodeURIComponent(words) + "&food=" + encodeURIComponent(h.id) + "#log";
      name.className = "hit-name";
      name.textContent = h.name;
      hint.className = "hint";
      hint.textContent = (h.magnesium_mg_per_100g == null ? "magnesium unknown" : mg(h.magnesium_mg_per_100g) + " per 100 g") +
        (p ? " · " + p.amount + " (" + +p.grams.toFixed(2) + " g)" + (p.magnesium_mg == null ? "" : ": " + mg(p.magnesium_mg)) : "");
      a.append(name, "\n", hint);
      li.append(a);
      return li;
    };
    q.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        const words = q.value.trim(), n = ++seq;
        if (!words) { list.replaceChildren(); status.textContent = ""; return; }
        try {
          const r = await fetch(form.dataset.suggest + "?limit=8&q=" + encodeURIComponent(words));
          if (n !== seq || !r.ok) return;
          const hits = (await r.json()).hits;
          list.replaceChildren(...hits.map((h) => item(words, h)));
          status.textContent = hits.length ? hits.length + " foods found." : "No food matches \u201c" + words + "\u201d.";
        } catch { /* the Search button still works */ }
      }, 200);
    });
    const move = (e) => {
      const links = [...list.querySelectorAll("a")], i = links.indexOf(document.activeElement);
      if (e.key === "ArrowDown" && i < links.length - 1) links[i + 1].focus();
      else if (e.key === "ArrowUp" && i >= 0) (i ? links[i - 1] : q).focus();
      else if (e.key === "Escape" && i >= 0) q.focus();
      else return;
      e.preventDefault();
    };
    q.addEventListener("keydown", move);
    list.addEventListener("keydown", move);
  }
  // A one-time link (invitation, password reset): a tap selects all of it, ready to copy.
  for (const box of document.querySelectorAll(".one-time-link textarea")) {
    box.addEventListener("focus", () => box.select());
  }
  // Data: read a chosen export file into the import box.
  const file = document.getElementById("import-file");
  if (file) {
    document.getElementById("import-file-field").hidden = false;
    document.getElementById("import-hint").textContent = "Choose the file above, or paste all of its text here.";
    file.addEventListener("change", async () => {
      if (file.files[0]) document.getElementById("import-text").value = await file.files[0].text();
    });
  }
});
