// Progressive enhancement only: the server already shows every instant in both
// sides' time zones and the user's. This adds the browser's own zone for visitors,
// a countdown to deadlines in their last days, and the question of confirm buttons.
(function () {
  "use strict";
  function fmt(date) {
    return new Intl.DateTimeFormat(undefined, {
      year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
      timeZoneName: "short",
    }).format(date);
  }
  document.querySelectorAll("time.local-instant").forEach(function (el) {
    el.textContent = fmt(new Date(el.getAttribute("datetime")));
    el.closest(".browser-zone").classList.remove("d-none");
  });
  function tick(el) {
    var end = new Date(el.getAttribute("data-deadline"));
    var ms = end - new Date();
    var days = parseInt(el.getAttribute("data-days") || "7", 10);
    if (ms <= 0) { el.textContent = el.getAttribute("data-closed"); el.classList.remove("d-none"); return false; }
    if (ms > days * 86400000) { el.classList.add("d-none"); return true; }
    var s = Math.floor(ms / 1000), d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600),
        m = Math.floor((s % 3600) / 60), sec = s % 60;
    // The unit labels come translated from the page (the countdown macro's data-unit-*).
    var unit = function (name) { return el.getAttribute("data-unit-" + name); };
    el.textContent = el.getAttribute("data-label") + " " + d + unit("d") + " " + h + unit("h") + " " +
      m + unit("m") + " " + sec + unit("s");
    el.classList.remove("d-none");
    return true;
  }
  document.querySelectorAll(".countdown").forEach(function (el) {
    if (tick(el)) { var t = setInterval(function () { if (!tick(el)) clearInterval(t); }, 1000); }
  });
  // The call drafting form's committee chooser: the two sides' legends follow the choice
  // (the server labels them for the committee chosen when the page was made).
  document.querySelectorAll("select[data-side-labels]").forEach(function (select) {
    var labels = JSON.parse(select.getAttribute("data-side-labels"));
    select.addEventListener("change", function () {
      (labels[select.value] || []).forEach(function (label, i) {
        var legend = document.querySelector('[data-side-legend="' + i + '"]');
        if (legend) { legend.textContent = label; }
      });
    });
  });
  // Buttons that ask first (post_button(..., confirm=...)): the question is in data-confirm,
  // since the Content-Security-Policy runs no inline handler. On a form, it is asked
  // whichever button submits; on a button, only when that button submits (a form whose
  // "Save the draft" goes through unasked and whose "Submit" asks).
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var question = (button && button.getAttribute("data-confirm")) ||
      (event.target.getAttribute && event.target.getAttribute("data-confirm"));
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });
})();
