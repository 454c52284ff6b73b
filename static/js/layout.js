// Table layout (issue 13): sticky headers and truncated cells. CSP-friendly (classes only, no styles).
//
// A table sits in a .table-wrap card. Its header is `position: sticky; top: 0`, which sticks to
// the nearest scrolling ancestor, and `overflow-x: auto` (what lets a wide table scroll sideways
// inside its card) makes the card that ancestor, although the card never scrolls vertically: so
// the header never stuck. Here each card is measured and marked:
//   .fits     the table fits the card: overflow visible, the header sticks to the page viewport;
//   .scrolls  wider than the card: it scrolls both ways inside a card of at most one viewport of
//             height, and the header sticks to the card's top.
// Without JavaScript the card keeps overflow-x: auto (it scrolls sideways, the header does not stick).
//
// Cells of list tables never wrap (uniform rows); a cut cell gets its full text as a title.
(function () {
  "use strict";

  function measure(wrap) {
    var table = wrap.querySelector(":scope > table");
    if (!table) return;
    // The room without scrollbars: the card's border box less its borders. A table never gets
    // narrower than the card, so it fits exactly when its width is within that room, whichever
    // mode the card is in now (no flip-flop when a scrollbar appears).
    var style = getComputedStyle(wrap);
    var room = wrap.getBoundingClientRect().width - parseFloat(style.borderLeftWidth) - parseFloat(style.borderRightWidth);
    var fits = table.getBoundingClientRect().width <= room + 0.5;
    wrap.classList.toggle("fits", fits);
    wrap.classList.toggle("scrolls", !fits);
    titles(table);
  }

  function titles(table) {
    if (!table.classList.contains("list-table")) return;
    table.querySelectorAll("tbody td:not(.wrap)").forEach(function (cell) {
      var cut = cell.scrollWidth > cell.clientWidth + 1;
      if (cut && !cell.hasAttribute("title")) {
        cell.title = cell.textContent.replace(/\s+/g, " ").trim();
        cell.dataset.autoTitle = "";
      } else if (!cut && cell.hasAttribute("data-auto-title")) {
        cell.removeAttribute("title");
        cell.removeAttribute("data-auto-title");
      }
    });
  }

  var observer = window.ResizeObserver ? new ResizeObserver(function (entries) {
    entries.forEach(function (entry) {
      var wrap = entry.target.closest(".table-wrap");
      if (wrap) measure(wrap);
    });
  }) : null;

  function scan(root) {
    (root || document).querySelectorAll(".table-wrap").forEach(function (wrap) {
      measure(wrap);
      if (observer && !wrap.dataset.observed) {
        wrap.dataset.observed = "";
        observer.observe(wrap);
        var table = wrap.querySelector(":scope > table");
        if (table) observer.observe(table);
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () { scan(); });
  document.addEventListener("htmx:afterSettle", function () { scan(); });
  window.addEventListener("resize", function () { scan(); });
})();
