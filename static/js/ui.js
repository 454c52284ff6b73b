// Keyboard shortcuts and copy-to-clipboard. CSP-friendly: no inline handlers, no eval.
(function () {
  "use strict";

  function typing(target) {
    if (!target || target === document.body) return false;
    var tag = target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
  }

  // "/" focuses the global search (unless you are typing somewhere already).
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
    if (typing(event.target)) return;
    var box = document.getElementById("global-q");
    if (!box) return;
    event.preventDefault();  // no "/" typed into the box
    box.focus();
    box.select();
  });

  // ArrowDown from the search box moves into the suggestions; arrows move between them; ArrowUp
  // from the first one returns to the box (Escape, in app.js, closes the list).
  (function () {
    var form = document.getElementById("global-search");
    var results = document.getElementById("global-search-results");
    if (!form || !results) return;
    var box = form.querySelector("input[name=q]");
    function links() { return Array.from(results.querySelectorAll("a[href]")); }
    form.addEventListener("keydown", function (event) {
      if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
      var items = links();
      if (!items.length) return;
      var index = items.indexOf(document.activeElement);
      if (event.target === box) {
        if (event.key !== "ArrowDown") return;
        event.preventDefault();
        items[0].focus();
        return;
      }
      if (index < 0) return;
      event.preventDefault();
      if (event.key === "ArrowDown") items[Math.min(index + 1, items.length - 1)].focus();
      else if (index === 0) box.focus();
      else items[index - 1].focus();
    });
  })();

  // Copy buttons: <button type="button" class="copy" data-copy="VALUE">Copy</button>.
  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "copy-buffer";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    area.remove();
    return ok;
  }

  function confirm(button, ok) {
    var label = button.dataset.label || button.textContent;
    button.dataset.label = label;
    button.textContent = ok ? "Copied" : "Copy failed";
    button.classList.toggle("copied", ok);
    var status = document.getElementById("copy-status");
    if (status) status.textContent = ok ? "Copied " + button.dataset.copy : "Could not copy";
    clearTimeout(button._copyTimer);
    button._copyTimer = setTimeout(function () {
      button.textContent = label;
      button.classList.remove("copied");
    }, 1500);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-copy]");
    if (!button) return;
    event.preventDefault();
    var text = button.dataset.copy;
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { confirm(button, true); },
        function () { confirm(button, fallbackCopy(text)); });
    } else {
      confirm(button, fallbackCopy(text));
    }
  });
})();
