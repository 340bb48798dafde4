// Cardholder simulator: refresh both phone threads every few seconds and send replies without reloading.
// The server renders every fragment with autoescaping, so inserting it as HTML cannot run message text.
(function () {
  "use strict";
  var phones = document.getElementById("sim-phones");
  if (!phones) { return; }
  var url = phones.getAttribute("data-threads-url");
  var pollMs = parseInt(phones.getAttribute("data-poll-ms"), 10) || 2000;
  var last = {};

  function scrollToEnd(screen) { screen.scrollTop = screen.scrollHeight; }

  function refresh() {
    return fetch(url, { headers: { "Accept": "application/json" }, cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (threads) {
        if (!threads) { return; }
        Object.keys(threads).forEach(function (channel) {
          var screen = document.getElementById("thread-" + channel);
          if (!screen || last[channel] === threads[channel]) { return; }
          var atEnd = screen.scrollHeight - screen.scrollTop - screen.clientHeight < 40;
          screen.innerHTML = threads[channel];
          last[channel] = threads[channel];
          if (atEnd) { scrollToEnd(screen); }
        });
      })
      .catch(function () { /* the server restarting is not the cardholder's problem; try again next tick */ });
  }

  document.querySelectorAll(".sim-screen").forEach(scrollToEnd);
  document.querySelectorAll("form.sim-reply").forEach(function (form) {
    var status = form.querySelector(".sim-status");
    var textarea = form.querySelector("textarea");
    textarea.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = form.querySelector("button");
      button.disabled = true;
      status.textContent = "";
      fetch(form.action, {
        method: "POST",
        body: new URLSearchParams(new FormData(form)),
        headers: { "Accept": "application/json" }
      })
        .then(function (response) {
          return response.json().then(function (body) { return { ok: response.ok, body: body }; });
        })
        .then(function (result) {
          if (result.ok) {
            textarea.value = "";
          } else {
            status.textContent = String(result.body.detail || "error");
          }
          return refresh();
        })
        .catch(function (error) { status.textContent = String(error); })
        .finally(function () {
          button.disabled = false;
          textarea.focus();
          document.querySelectorAll(".sim-screen").forEach(scrollToEnd);
        });
    });
  });
  window.setInterval(refresh, pollMs);
})();
