// mtharness serve: the little the pages need beyond links and forms (they work without it).
// Runs page: "compare" is enabled once two or more runs are ticked, and shows how many.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("compare-form");
  if (form) {
    const button = document.getElementById("compare-button");
    const boxes = () => Array.from(form.querySelectorAll("input[name=run]:checked"));
    const update = () => {
      const n = boxes().length;
      button.disabled = n < 2;
      button.textContent = n < 2 ? "compare (tick 2 or more)" : `compare ${n} runs`;
    };
    form.addEventListener("change", update);
    update();
  }
  // a select or checkbox in a filter form applies at once (the form is a plain GET: state in the URL)
  for (const el of document.querySelectorAll("form.filters select[data-auto]")) {
    el.addEventListener("change", () => el.form.submit());
  }
});
