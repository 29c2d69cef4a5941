// Live totals in the proposal editor: each side's budget lines plus its mobility cost
// (the sending side pays the travel cap per trip, the receiving side the per diem times
// the days). The server computes the same when the draft is saved.
(function () {
  "use strict";
  var editor = document.getElementById("proposal-editor");
  if (!editor) { return; }
  var sides = {};
  editor.querySelectorAll("tr.side-total").forEach(function (row) {
    sides[row.getAttribute("data-agency")] = {
      row: row, currency: row.getAttribute("data-currency"),
      perDiem: parseFloat(row.getAttribute("data-per-diem")) || 0,
      travelCap: parseFloat(row.getAttribute("data-travel-cap")) || 0,
      max: parseFloat(row.getAttribute("data-max")) || 0,
      over: row.getAttribute("data-over"),
      // A request typed as a sum (older proposals): it holds until a line or a trip is added.
      typedSum: row.hasAttribute("data-typed-sum") ? parseFloat(row.getAttribute("data-typed-sum")) || 0 : null,
    };
  });
  function fmt(amount, currency) {
    return amount.toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 }) + " " + currency;
  }
  function recompute() {
    var budget = {}, mobility = {}, itemised = false;
    Object.keys(sides).forEach(function (id) { budget[id] = 0; mobility[id] = 0; });
    editor.querySelectorAll("tr.trip").forEach(function (row) {
      var parts = row.querySelector("[data-role=direction]").value.split("-");
      var days = parseInt(row.querySelector("[data-role=days]").value, 10) || 0;
      var cell = row.querySelector(".trip-cost");
      var from = sides[parts[0]], to = sides[parts[1]];
      if (!days || !from || !to) { cell.textContent = ""; return; }
      itemised = true;
      mobility[parts[0]] += from.travelCap;
      mobility[parts[1]] += to.perDiem * days;
      cell.textContent = fmt(from.travelCap, from.currency) + " + " + fmt(to.perDiem * days, to.currency);
    });
    editor.querySelectorAll("tr.budget-line").forEach(function (row) {
      var side = row.querySelector("[data-role=side]").value;
      var amount = parseFloat(row.querySelector("[data-role=amount]").value) || 0;
      if (side in budget && row.querySelector("[data-role=amount]").value !== "") {
        budget[side] += amount;
        itemised = true;
      }
    });
    Object.keys(sides).forEach(function (id) {
      var s = sides[id], typed = !itemised && s.typedSum !== null;
      var total = typed ? s.typedSum : budget[id] + mobility[id];
      s.row.querySelector(".budget").textContent = typed ? "—" : fmt(budget[id], s.currency);
      s.row.querySelector(".mobility").textContent = typed ? "—" : fmt(mobility[id], s.currency);
      var cell = s.row.querySelector(".total");
      cell.textContent = fmt(total, s.currency);
      if (total > s.max) {
        var warn = document.createElement("span");
        warn.className = "text-danger";
        warn.textContent = " " + s.over + " " + fmt(total - s.max, s.currency);
        cell.appendChild(warn);
      }
    });
  }
  editor.addEventListener("input", recompute);
  editor.addEventListener("change", recompute);
  recompute();
})();
