// The proposal editor: each limited text shows how much it holds now, as you type.
// Counted as the server counts (words between spaces; a line break is one character);
// the server stays the judge, on submission.
(function () {
  "use strict";
  function count(text, unit) {
    if (unit === "words") {
      var words = text.trim().split(/\s+/);
      return words[0] === "" ? 0 : words.length;
    }
    return text.replace(/\r\n/g, "\n").length;
  }
  document.querySelectorAll("[data-limit-for]").forEach(function (hint) {
    var field = document.getElementById(hint.dataset.limitFor);
    var now = hint.querySelector(".limit-now");
    if (!field || !now) return;
    function update() {
      var n = count(field.value, hint.dataset.unit);
      now.textContent = hint.dataset.nowText.replace("%(count)s", n);
      var over = n > Number(hint.dataset.max);
      hint.classList.toggle("text-danger", over);
      hint.classList.toggle("text-muted", !over);
    }
    field.addEventListener("input", update);
  });
})();
