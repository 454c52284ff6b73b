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
