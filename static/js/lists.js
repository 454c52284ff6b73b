// List pages: column chooser ordering, row ticking and "select all matching". CSP-friendly (no inline JS).
(function () {
  "use strict";

  // Column chooser: move an item up or down; the form posts the checkboxes in DOM order.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("#column-chooser [data-move]");
    if (!button) return;
    var item = button.closest("li");
    if (button.dataset.move === "up" && item.previousElementSibling) {
      item.parentNode.insertBefore(item, item.previousElementSibling);
    } else if (button.dataset.move === "down" && item.nextElementSibling) {
      item.parentNode.insertBefore(item.nextElementSibling, item);
    }
    button.focus();
  });

  function ticks() {
    return Array.from(document.querySelectorAll('input[type=checkbox][name=pk][form=select-form]'));
  }

  function refresh() {
    var status = document.getElementById("selection-status");
    var scope = document.getElementById("select-scope");
    var banner = document.getElementById("select-all-matching");
    var pagebox = document.getElementById("tick-page");
    if (!status || !scope) return;
    var all = ticks();
    var ticked = all.filter(function (b) { return b.checked; }).length;
    var total = status.dataset.total;
    if (scope.value === "matching") {
      status.textContent = "Rows: all " + total + " matching rows are selected.";
    } else if (ticked) {
      status.textContent = "Rows: the " + ticked + " ticked row" + (ticked === 1 ? "" : "s") + " only.";
    } else {
      status.textContent = "Rows: all " + total + " matching. Tick rows to export only those.";
    }
    if (pagebox) pagebox.checked = all.length > 0 && ticked === all.length;
    if (banner) banner.hidden = !(all.length > 0 && ticked === all.length && scope.value !== "matching" && Number(total) > all.length);
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    var scope = document.getElementById("select-scope");
    if (target.id === "tick-page") {
      ticks().forEach(function (b) { b.checked = target.checked; });
      if (scope) scope.value = "";
      refresh();
    } else if (target.name === "pk" && target.getAttribute("form") === "select-form") {
      if (scope) scope.value = "";
      refresh();
    }
  });

  document.addEventListener("click", function (event) {
    if (event.target.id !== "tick-all-matching") return;
    var scope = document.getElementById("select-scope");
    if (scope) scope.value = "matching";
    refresh();
  });

  // "Tags / notes…" with nothing ticked means every matching row (the next page confirms the count).
  document.addEventListener("submit", function (event) {
    if (event.target.id !== "select-form" || !event.submitter || event.submitter.id !== "bulk-edit") return;
    var scope = document.getElementById("select-scope");
    if (scope && !ticks().some(function (b) { return b.checked; })) scope.value = "matching";
  });

  document.addEventListener("htmx:afterSwap", refresh);
  document.addEventListener("DOMContentLoaded", refresh);
})();
