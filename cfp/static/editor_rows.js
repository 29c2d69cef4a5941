// Rows of the proposal editor's lists (team members, trips, budget lines): "Add" copies the
// list's blank row (a <template> the server rendered, its index __index__ and row number
// __number__ replaced by the next free ones), "Remove" takes a row out of the form. The
// server accepts any number of rows, with gaps in their indices. Without JavaScript the
// buttons stay hidden and the editor offers one blank row per list at each save.
(function () {
  "use strict";
  var editor = document.getElementById("proposal-editor");
  if (!editor) { return; }
  editor.querySelectorAll(".js-only").forEach(function (el) { el.classList.remove("d-none"); });

  function changed() {  // the totals (proposal_costs.js) follow
    editor.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function addRow(list) {
    var body = document.getElementById(list + "-rows");
    var template = document.getElementById(list + "-row");
    var index = parseInt(body.getAttribute("data-next-index"), 10);
    body.setAttribute("data-next-index", String(index + 1));
    var html = template.innerHTML.split("__index__").join(String(index))
      .split("__number__").join(String(index + 1));
    body.insertAdjacentHTML("beforeend", html.trim());
    var row = body.lastElementChild;
    row.querySelectorAll(".js-only").forEach(function (el) { el.classList.remove("d-none"); });
    var first = row.querySelector("input:not([type=hidden]), select");
    if (first) { first.focus(); }
    changed();
  }

  function removeRow(button) {
    var row = button.closest("tr");
    var next = row.nextElementSibling || row.previousElementSibling;
    var list = row.closest("tbody").id.replace(/-rows$/, "");
    row.remove();
    // Keep the focus in the list: on the neighbouring row's button, or on "Add".
    var target = next ? next.querySelector("[data-remove-row]")
                      : editor.querySelector('[data-add-row="' + list + '"]');
    if (target) { target.focus(); }
    changed();
  }

  editor.addEventListener("click", function (event) {
    var add = event.target.closest("[data-add-row]");
    if (add) { addRow(add.getAttribute("data-add-row")); return; }
    var remove = event.target.closest("[data-remove-row]");
    if (remove) { removeRow(remove); }
  });
})();
