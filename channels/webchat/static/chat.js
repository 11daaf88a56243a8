/* The customer web chat: vanilla JS, no framework, no inline code (CSP default-src 'self'). */
(function () {
  "use strict";

  // Every text is the catalogue's (telecom_assistant/texts), handed over by the page in both
  // languages: {"en": {"webchat.title": ...}, "zh": {...}}.
  var TEXTS = {};
  // The conversation is the server's session cookie (HttpOnly: this script never sees it).
  var KEYS = {
    history: "webchat.history",
    language: "webchat.language",
    larger: "webchat.largerText"
  };
  var HISTORY_LIMIT = 200;
  var MAX_LENGTH = 5000;
  var INBOX_POLL_MS = 3000;
  // Who wrote each role's messages, for screen readers; errors come from the assistant.
  var SPEAKERS = { user: "webchat.you", agent: "webchat.agent" };
  // The texts of the errors the history keeps, by the codes it keeps them under.
  var ERRORS = {
    unreachable: "webchat.unreachable",
    tooLong: "webchat.too_long",
    cookiesNeeded: "webchat.cookies_needed"
  };

  var els = {};
  var history = [];
  var language = "en";
  var busy = false;
  var inboxTimer = null;
  var inboxInFlight = false;
  // Set from asking for a new session until the inbox answers again: refused in between
  // means the browser does not keep the cookie.
  var sessionRenewed = false;

  // ---- storage (private browsing may refuse it: the chat still works, it just forgets)

  function load(key) {
    try { return window.localStorage.getItem(key); } catch (e) { return null; }
  }
  function store(key, value) {
    try {
      window.localStorage.setItem(key, value);
      return true;
    } catch (e) {
      return false;
    }
  }
  function saveHistory() {
    if (history.length > HISTORY_LIMIT) history = history.slice(-HISTORY_LIMIT);
    return store(KEYS.history, JSON.stringify(history));
  }
  function loadHistory() {
    try {
      var saved = JSON.parse(load(KEYS.history) || "[]");
      return Array.isArray(saved) ? saved.filter(function (entry) {
        return entry && typeof entry === "object" && typeof entry.role === "string";
      }) : [];
    } catch (e) {
      return [];
    }
  }

  // ---- language

  function loadTexts() {
    try {
      return JSON.parse(document.getElementById("texts").textContent);
    } catch (e) {
      return {};
    }
  }
  function textIn(lang, key) {
    return (TEXTS[lang] && TEXTS[lang][key]) || (TEXTS.en && TEXTS.en[key]) || key;
  }
  function t(key) {
    return textIn(language, key);
  }
  function pickLanguage() {
    var saved = load(KEYS.language);
    if (saved && TEXTS[saved]) return saved;
    var browser = (navigator.language || "en").toLowerCase();
    return browser.indexOf("zh") === 0 ? "zh" : "en";
  }
  function otherLanguage() {
    return language === "zh" ? "en" : "zh";
  }
  function applyLanguage() {
    document.documentElement.lang = language === "zh" ? "zh-Hans" : "en";
    document.title = t("webchat.title");
    Array.prototype.forEach.call(document.querySelectorAll("[data-text]"), function (el) {
      el.textContent = t(el.getAttribute("data-text"));
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-text-label]"), function (el) {
      el.setAttribute("aria-label", t(el.getAttribute("data-text-label")));
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-text-placeholder]"), function (el) {
      el.setAttribute("placeholder", t(el.getAttribute("data-text-placeholder")));
    });
    // The switch speaks the other language, so that someone who reads only that one finds it.
    var other = otherLanguage();
    els.language.textContent = textIn(other, "language.name");
    els.language.setAttribute("lang", other === "zh" ? "zh-Hans" : "en");
    els.language.setAttribute("aria-label", textIn(other, "language.switch_to"));
    renderAll();
  }

  // ---- rendering: text always through textContent, never innerHTML

  function renderEntry(entry, index) {
    var item = document.createElement("div");
    item.className = "message " + entry.role;
    var who = document.createElement("span");
    who.className = "visually-hidden";
    who.textContent = t(SPEAKERS[entry.role] || "webchat.assistant") + ": ";
    var bubble = document.createElement("div");
    bubble.className = "bubble";
    bubble.appendChild(who);
    bubble.appendChild(document.createTextNode(
      entry.role === "error" ? t(ERRORS[entry.key] || ERRORS.unreachable) : String(entry.text || "")
    ));
    item.appendChild(bubble);

    if (entry.role === "bot" && Array.isArray(entry.buttons) && entry.buttons.length) {
      var row = document.createElement("div");
      row.className = "buttons";
      entry.buttons.forEach(function (button) {
        var el = document.createElement("button");
        el.type = "button";
        el.textContent = String(button.title || button.payload || "");
        el.disabled = !!entry.buttonsDisabled;
        el.addEventListener("click", function () {
          if (el.disabled || busy) return;
          send(String(button.payload || button.title || ""), el.textContent);
        });
        row.appendChild(el);
      });
      item.appendChild(row);
    }
    if (entry.role === "error" && entry.payload && index === history.length - 1) {
      var retry = document.createElement("button");
      retry.type = "button";
      retry.className = "retry";
      retry.textContent = t("webchat.retry");
      retry.addEventListener("click", function () { retryLast(); });
      item.appendChild(retry);
    }
    return item;
  }

  function renderAll() {
    els.messages.textContent = "";
    if (!history.length) {
      els.messages.appendChild(renderEntry({ role: "bot", text: t("webchat.intro") }, -1));
    }
    history.forEach(function (entry, index) {
      els.messages.appendChild(renderEntry(entry, index));
    });
    scrollDown();
  }

  function scrollDown() {
    els.messages.scrollTop = els.messages.scrollHeight;
  }

  function append(entry) {
    history.push(entry);
    saveHistory();
    renderAll();
  }

  function setBusy(value) {
    busy = value;
    els.typing.hidden = !value;
    els.send.disabled = value;
    if (value) els.messages.setAttribute("aria-busy", "true");
    else els.messages.removeAttribute("aria-busy");
    scrollDown();
  }

  // ---- talking to the server

  function send(payload, shown) {
    if (busy || typeof payload !== "string" || !payload.trim()) return;
    // A new customer message: older quick replies and retries no longer apply.
    history = history.filter(function (entry) { return entry.role !== "error"; });
    history.forEach(function (entry) {
      if (entry.buttons) entry.buttonsDisabled = true;
    });
    append({ role: "user", text: shown });
    post(payload);
  }

  function retryLast() {
    var last = history[history.length - 1];
    if (busy || !last || last.role !== "error" || !last.payload) return;
    history.pop();
    saveHistory();
    renderAll();
    post(last.payload);
  }

  function post(payload) {
    setBusy(true);
    fetch("/api/message", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ message: payload })
    }).then(function (response) {
      if (response.status === 413) return { error: "tooLong" };
      if (!response.ok) return { error: "unreachable" };
      return response.json().then(function (replies) {
        return Array.isArray(replies) ? { replies: replies } : { error: "unreachable" };
      });
    }).catch(function () {
      return { error: "unreachable" };
    }).then(function (result) {
      setBusy(false);
      if (result.error === "tooLong") {
        append({ role: "error", key: "tooLong" });
      } else if (result.error) {
        append({ role: "error", key: "unreachable", payload: payload });
      } else {
        showReplies(result.replies);
      }
      els.input.focus();
    });
  }

  function showReplies(replies) {
    replies.forEach(function (reply) {
      if (!reply || typeof reply !== "object") return;
      var buttons = Array.isArray(reply.buttons) ? reply.buttons.filter(function (b) {
        return b && (b.title || b.payload);
      }).map(function (b) {
        return { title: String(b.title || b.payload), payload: String(b.payload || b.title) };
      }) : [];
      var text = typeof reply.text === "string" ? reply.text
        : (typeof reply.image === "string" ? reply.image : "");
      if (!text && !buttons.length) return;
      var entry = { role: "bot", text: text };
      if (buttons.length) entry.buttons = buttons;
      history.push(entry);
    });
    saveHistory();
    renderAll();
  }

  // ---- agents' replies: the inbox, polled while the page is visible

  function pollInbox() {
    if (inboxInFlight) return;  // it reschedules itself when it ends
    window.clearTimeout(inboxTimer);
    inboxInFlight = true;
    fetch("/api/inbox", { credentials: "same-origin" }).then(function (response) {
      if (response.status === 401) return renewSession().then(function () { return null; });
      if (!response.ok) throw new Error("inbox " + response.status);
      return response.json();
    }).then(function (body) {
      if (!body) return;
      sessionRenewed = false;
      var ids = keepAgentReplies(Array.isArray(body.replies) ? body.replies : []);
      // At least once: a reply is acknowledged only once it is saved, so one the browser
      // could not keep comes back at the next visit rather than being lost.
      if (ids.length && saveHistory()) return acknowledge(ids);
    }).catch(function () {
      // Silent: the customer's own messages report their errors; the next poll tries again.
    }).then(function () {
      inboxInFlight = false;
      scheduleInboxPoll();
    });
  }

  // The session is gone (a month unused, or the browser dropped the cookie): loading the page
  // again starts a new one, and with it a new conversation; the history shown here stays.
  function renewSession() {
    if (sessionRenewed) {
      showOnce("cookiesNeeded");
      return Promise.resolve();
    }
    sessionRenewed = true;
    return fetch("/", { credentials: "same-origin" });
  }

  function showOnce(key) {
    var last = history[history.length - 1];
    if (last && last.role === "error" && last.key === key) return;
    append({ role: "error", key: key });
  }

  function scheduleInboxPoll() {
    window.clearTimeout(inboxTimer);
    if (document.visibilityState === "visible") {
      inboxTimer = window.setTimeout(pollInbox, INBOX_POLL_MS);
    }
  }

  // Adds the replies not yet in the history and returns the ids of all of them, new or not:
  // one already shown may be waiting for an acknowledgement that got lost.
  function keepAgentReplies(replies) {
    var ids = [];
    var added = false;
    replies.forEach(function (reply) {
      if (!reply || !Number.isInteger(reply.id) || typeof reply.text !== "string") return;
      ids.push(reply.id);
      var known = history.some(function (entry) { return entry.replyId === reply.id; });
      if (known) return;
      var entry = { role: "agent", text: reply.text, replyId: reply.id };
      var last = history[history.length - 1];
      // Only the last entry carries a Retry button: keep a failed message's where it is.
      if (last && last.role === "error") history.splice(history.length - 1, 0, entry);
      else history.push(entry);
      added = true;
    });
    if (added) renderAll();
    return ids;
  }

  function acknowledge(ids) {
    return fetch("/api/inbox/ack", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ ids: ids })
    });
  }

  // ---- start

  function setLarger(on) {
    els.chat.classList.toggle("larger", on);
    els.larger.setAttribute("aria-pressed", on ? "true" : "false");
    store(KEYS.larger, on ? "1" : "0");
  }

  function start() {
    ["chat", "messages", "typing", "composer", "input", "send", "language"].forEach(function (id) {
      els[id] = document.getElementById(id);
    });
    els.larger = document.getElementById("larger-text");
    TEXTS = loadTexts();
    history = loadHistory();
    language = pickLanguage();
    els.input.setAttribute("maxlength", String(MAX_LENGTH));
    setLarger(load(KEYS.larger) === "1");
    applyLanguage();
    // A returning customer starts at their latest message: scroll again once the fonts have
    // settled how long each bubble wraps, and after a rotation or resize.
    if (document.fonts && document.fonts.ready) document.fonts.ready.then(scrollDown);
    window.addEventListener("resize", scrollDown);

    els.composer.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = els.input.value;
      if (busy || !text.trim()) return;
      els.input.value = "";
      send(text.trim(), text.trim());
    });
    els.language.addEventListener("click", function () {
      language = otherLanguage();
      store(KEYS.language, language);
      applyLanguage();
    });
    els.larger.addEventListener("click", function () {
      setLarger(!els.chat.classList.contains("larger"));
    });
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") pollInbox();
      else window.clearTimeout(inboxTimer);
    });
    pollInbox();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
