// The ticket page's live chat (console/live.py): listens to the ticket's event stream and,
// when the conversation changes, swaps in the fresh live panel and conversation from the page
// itself; sends the agent's messages without leaving the page; reports typing.
(function () {
  "use strict";
  var panel = document.getElementById("live-panel");
  if (!panel || !window.EventSource) { return; }
  var ticket = panel.getAttribute("data-ticket");
  var base = "/tickets/" + encodeURIComponent(ticket) + "/live/";
  var lastTyping = 0;

  function csrf() {
    var current = document.getElementById("live-panel");
    return current ? current.getAttribute("data-csrf") : "";
  }

  function post(action, fields) {
    var body = new FormData();
    body.append("csrf_token", csrf());
    Object.keys(fields || {}).forEach(function (name) { body.append(name, fields[name]); });
    return fetch(base + action, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "X-Requested-With": "fetch" }
    });
  }

  // Every element marked data-live-refresh (the panel, the conversation) is replaced by its
  // fresh copy; what the agent is typing stays.
  function refresh() {
    return fetch(window.location.pathname, {
      credentials: "same-origin", headers: { "X-Console-Background": "1" }
    })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-live-refresh]").forEach(function (old) {
          var replacement = old.id && fresh.getElementById(old.id);
          if (!replacement) { return; }
          var draft = old.querySelector("textarea");
          var keep = draft ? draft.value : null;
          var hadFocus = draft && document.activeElement === draft;
          old.replaceWith(replacement);
          var box = replacement.querySelector("textarea");
          if (box && keep !== null) {
            box.value = keep;
            if (hadFocus) { box.focus(); }
          }
          var list = replacement.querySelector("[data-scroll-end]");
          if (list) { list.scrollTop = list.scrollHeight; }
        });
        wire();
      });
  }

  function wire() {
    var form = document.querySelector("[data-live-say]");
    if (!form || form.getAttribute("data-wired")) { return; }
    form.setAttribute("data-wired", "yes");
    var box = form.querySelector("textarea");
    box.addEventListener("input", function () {
      var now = Date.now();
      if (now - lastTyping > 2000) { lastTyping = now; post("typing"); }
    });
    box.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); form.requestSubmit(); }
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = box.value.trim();
      if (!text) { return; }
      post("say", { text: text }).then(function (response) {
        if (response.ok) { box.value = ""; return refresh(); }
        return response.json().then(function (body) { window.alert(body.error); });
      });
    });
  }

  // One stream while the tab is shown: browsers allow a handful of connections per site over
  // plain HTTP, and the console's own pages share one more (console.js).
  var events = null;
  function listen() {
    if (events || document.hidden) { return; }
    events = new EventSource(base + "events");
    events.addEventListener("changed", function (event) {
      var state = JSON.parse(event.data);
      var typing = document.querySelector("[data-live-typing]");
      if (typing) { typing.hidden = !state.customer_typing; }
      refresh();
    });
  }
  document.addEventListener("visibilitychange", function () {
    if (document.hidden && events) {
      events.close();
      events = null;
    } else if (!document.hidden) {
      refresh();
      listen();
    }
  });
  var conversation = document.querySelector("[data-scroll-end]");
  if (conversation) { conversation.scrollTop = conversation.scrollHeight; }
  wire();
  listen();
})();
