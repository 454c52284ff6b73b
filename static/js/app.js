// Small, CSP-friendly glue (no inline scripts, no eval).
document.addEventListener("htmx:responseError", function (event) {
  var main = document.getElementById("main");
  if (!main) return;
  var note = document.createElement("div");
  note.className = "msg msg-error";
  note.setAttribute("role", "alert");
  note.textContent = "The server could not complete that request (HTTP " + event.detail.xhr.status + "). Reload to try again.";
  main.prepend(note);
});
document.addEventListener("htmx:sendError", function () {
  var main = document.getElementById("main");
  if (!main) return;
  var note = document.createElement("div");
  note.className = "msg msg-error";
  note.setAttribute("role", "alert");
  note.textContent = "Could not reach the server.";
  main.prepend(note);
});

// Keep pushed URLs short and shareable: drop empty filter fields from HTMX GET requests.
document.addEventListener("htmx:configRequest", function (event) {
  var params = event.detail.parameters;
  if (!params || event.detail.verb !== "get") return;
  var keys = typeof params.keys === "function" ? Array.from(params.keys()) : Object.keys(params);
  keys.forEach(function (key) {
    var value = typeof params.get === "function" ? params.get(key) : params[key];
    if (value === "" || value === null) {
      if (typeof params.delete === "function") params.delete(key); else delete params[key];
    }
  });
});

// --- Global search (header) ------------------------------------------------------------------
// Results come from HTMX (base.html); this only closes the dropdown: Escape, or a click outside.
(function () {
  var form = document.getElementById("global-search");
  var results = document.getElementById("global-search-results");
  if (!form || !results) return;
  var input = form.querySelector("input[name=q]");
  function close() {
    if (window.htmx) window.htmx.trigger(input, "htmx:abort");  // a late response must not reopen it
    results.replaceChildren();
  }
  form.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && results.childElementCount) { event.preventDefault(); close(); input.focus(); }
  });
  document.addEventListener("click", function (event) { if (!form.contains(event.target)) close(); });
  // A cleared box closes the dropdown rather than asking the server for the "type something" hint.
  input.addEventListener("htmx:beforeRequest", function (event) {
    if (!input.value.trim()) { event.preventDefault(); results.replaceChildren(); }
  });
  // Enter with an empty box would only open an unfiltered table: stay put instead.
  form.addEventListener("submit", function (event) { if (!input.value.trim()) event.preventDefault(); });
})();
