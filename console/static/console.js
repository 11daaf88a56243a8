/* The agent console's live side: vanilla JS, no framework, no inline code (CSP default-src 'self').
   Every signed-in page listens to the queue's server-sent events (GET /events/queue): the queue
   page fetches its rows again when the queue changes, every page shows the notices an event
   carries (a customer waiting for a person, a new urgent ticket), as desktop notifications too
   once the agent allowed them. The agent's tabs share one stream. Canned replies go into the reply box without a reload. The pages
   work without this script: the queue by reloading, canned replies by a link. */
(function () {
  "use strict";

  var EVENTS_URL = "/events/queue";
  var SHARED_STREAM = "console-queue-events"; // the lock's and the tabs' channel's name
  var NOTICES_KEPT = 5;

  var inbox = document.getElementById("inbox");
  var liveStatus = document.getElementById("live-status");
  var notices = document.getElementById("notices");
  var askButton = document.getElementById("notify-ask");

  // ---- the queue's rows, fetched again with the page's own filters and view

  var fetching = false;
  var fetchAgain = false;

  function refreshRows() {
    if (!inbox) return;
    if (fetching) {
      fetchAgain = true; // one more fetch once this one is back: it may predate the change
      return;
    }
    fetching = true;
    fetch(inbox.getAttribute("data-rows-url") + window.location.search, {
      credentials: "same-origin",
      redirect: "manual",
      headers: { "X-Console-Background": "1" }
    })
      .then(function (response) {
        if (response.type === "opaqueredirect") {
          window.location.reload(); // the session ended: the page shows the sign-in
          return null;
        }
        return response.ok ? response.text() : null;
      })
      .then(function (rows) {
        if (rows !== null) swapRows(rows);
      })
      .catch(function () { /* the next event or reconnection fetches again */ })
      .then(function () {
        fetching = false;
        if (fetchAgain) {
          fetchAgain = false;
          refreshRows();
        }
      });
  }

  function swapRows(rows) {
    // Keep the keyboard where it was: the link the agent had focused, if it is still there.
    var focused = document.activeElement;
    var focusedHref = focused && inbox.contains(focused) ? focused.getAttribute("href") : null;
    inbox.innerHTML = rows;
    if (focusedHref) {
      var links = inbox.querySelectorAll("a[href]");
      for (var i = 0; i < links.length; i++) {
        if (links[i].getAttribute("href") === focusedHref) {
          links[i].focus();
          break;
        }
      }
    }
  }

  function showLive(on) {
    if (!liveStatus) return;
    liveStatus.hidden = false;
    liveStatus.textContent = liveStatus.getAttribute(on ? "data-on" : "data-off");
    liveStatus.classList.toggle("on", on);
  }

  // ---- notices

  function pageLanguage() {
    return document.documentElement.lang.indexOf("zh") === 0 ? "zh" : "en";
  }

  // Every tab shows the notice on its page; only the tab keeping the stream raises the
  // desktop notification, so that it comes once however many tabs are open.
  function showNotice(notice, onDesktop) {
    var words = notice.text[pageLanguage()] || notice.text.en;
    if (notices) {
      var item = document.createElement("div");
      item.className = "notice notice-" + notice.why;
      item.setAttribute("data-ticket", notice.ticket_id);
      var text = document.createElement("p");
      var link = document.createElement("a");
      link.href = notice.url;
      link.textContent = words;
      text.appendChild(link);
      var dismiss = document.createElement("button");
      dismiss.type = "button";
      dismiss.textContent = notices.getAttribute("data-dismiss");
      dismiss.addEventListener("click", function () { item.remove(); });
      item.appendChild(text);
      item.appendChild(dismiss);
      notices.appendChild(item);
      while (notices.children.length > NOTICES_KEPT) notices.removeChild(notices.firstChild);
    }
    if (onDesktop && "Notification" in window && Notification.permission === "granted") {
      var title = notices ? notices.getAttribute("data-title") : document.title;
      var desktop = new Notification(title, { body: words, tag: notice.why + ":" + notice.ticket_id });
      desktop.addEventListener("click", function () {
        window.focus();
        window.location.href = notice.url;
      });
    }
  }

  // Asking needs the agent's click: browsers refuse (and agents resent) a prompt on load.
  function offerNotifications() {
    if (!askButton || !("Notification" in window)) return;
    function update() { askButton.hidden = Notification.permission !== "default"; }
    update();
    askButton.addEventListener("click", function () {
      Promise.resolve(Notification.requestPermission()).then(update);
    });
  }

  // ---- the queue's events: one stream for all of the agent's console tabs
  //
  // Over HTTP/1.1 a browser keeps at most six connections to a site, and a stream holds one
  // for as long as its page is open: with a stream per tab, the seventh tab would wait for
  // ever. So the tabs share one. The tab holding the lock keeps the stream and passes on what
  // it hears; when it goes, the next tab in line takes the lock and opens the stream again.
  // (Where the browser has no locks, as on plain http off this machine, each tab listens.)

  function openStream(tell) {
    var events = new EventSource(EVENTS_URL);
    events.addEventListener("open", function () { tell({ kind: "open" }); });
    // The browser connects again by itself.
    events.addEventListener("error", function () { tell({ kind: "error" }); });
    events.addEventListener("queue", function (event) {
      var change;
      try {
        change = JSON.parse(event.data);
      } catch (e) {
        return;
      }
      tell({ kind: "queue", notices: change.notices || [] });
    });
  }

  function hear(message, onDesktop) {
    if (message.kind === "open") {
      showLive(true);
      // Whatever changed while the stream was being set up, or was down, shows now.
      refreshRows();
    } else if (message.kind === "error") {
      showLive(false);
    } else if (message.kind === "queue") {
      refreshRows();
      message.notices.forEach(function (notice) { showNotice(notice, onDesktop); });
    }
  }

  function listen() {
    if (!window.EventSource) return;
    if (!(window.BroadcastChannel && navigator.locks)) {
      openStream(function (message) { hear(message, true); });
      return;
    }
    var tabs = new BroadcastChannel(SHARED_STREAM);
    var streamState = null; // in the tab keeping the stream: its last "open" or "error"
    tabs.addEventListener("message", function (event) {
      if (event.data.kind === "hello") {
        if (streamState) tabs.postMessage(streamState);
      } else {
        hear(event.data, false);
      }
    });
    navigator.locks.request(SHARED_STREAM, function () {
      // Never resolved: the lock is this page's until it goes.
      return new Promise(function () {
        openStream(function (message) {
          if (message.kind !== "queue") streamState = message;
          hear(message, true);
          tabs.postMessage(message);
        });
      });
    });
    tabs.postMessage({ kind: "hello" }); // the stream's tab answers whether it is connected
  }

  // ---- canned replies: into the reply box at once, where the link would reload the page

  function offerCannedReplies() {
    var box = document.getElementById("reply-text");
    if (!box) return;
    var links = document.querySelectorAll("a.canned-insert");
    for (var i = 0; i < links.length; i++) {
      links[i].addEventListener("click", function (event) {
        event.preventDefault();
        box.value = this.getAttribute("data-text");
        box.focus();
      });
    }
  }

  offerNotifications();
  offerCannedReplies();
  listen();
})();
