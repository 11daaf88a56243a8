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
    larger: "webchat.largerText",
    ending: "webchat.endingChat"
  };
  var HISTORY_LIMIT = 200;
  // The server's limit (channels/webchat/app.py), counted as it counts: in code points.
  var MAX_LENGTH = 5000;
  // The counter under the box appears as a message nears the limit.
  var COUNTER_FROM = 4500;
  var INBOX_POLL_MS = 3000;
  // The server hears "the customer is typing" at most this often.
  var TYPING_EVERY_MS = 2000;
  // Who wrote each role's messages, for screen readers; errors come from the assistant.
  var SPEAKERS = { user: "webchat.you", agent: "webchat.agent" };
  // The texts of the errors the history keeps, by the codes it keeps them under.
  var ERRORS = {
    unreachable: "webchat.unreachable",
    tooLong: "webchat.too_long",
    cookiesNeeded: "webchat.cookies_needed"
  };
  // What the server pushes (GET /api/events) or the inbox lists: an agent's letter about a
  // ticket, a message in a live chat, or the desk's notice (someone joined or left).
  // A reminder is the assistant's own message, sent outside a turn: shown as the bot's.
  var REPLY_KINDS = ["letter", "live", "notice", "reminder"];

  var els = {};
  var history = [];
  // Each history entry's element in the conversation, so that a change touches only it.
  var nodes = new WeakMap();
  var language = "en";
  var busy = false;
  // Counts the conversations this page has ended: an answer that comes back for an earlier
  // one is dropped rather than shown in the new one.
  var conversation = 0;
  var inboxTimer = null;
  var inboxInFlight = false;
  // Set from asking for a new session until the server answers with it: refused in between
  // means the browser does not keep the cookie.
  var sessionRenewed = false;
  // The server's stream of agents' replies, typing and live-chat state (GET /api/events).
  var events = null;
  // Whether the conversation follows its newest message, and where scrollDown last left it.
  var following = true;
  var pinnedAt = 0;
  var lastTypingSent = 0;
  var typingHeard = true;  // false once the server says it has no use for it (404)
  // The customer ended the chat and the server has not heard it yet (kept across visits).
  var endPending = false;
  var endInFlight = null;  // one "end" at a time, shared by whoever needs it said

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
  function forget(key) {
    try { window.localStorage.removeItem(key); } catch (e) { /* nothing was kept */ }
  }
  function saveHistory() {
    return store(KEYS.history, JSON.stringify(history));
  }
  function loadHistory() {
    try {
      var saved = JSON.parse(load(KEYS.history) || "[]");
      return Array.isArray(saved) ? saved.filter(function (entry) {
        return entry && typeof entry === "object" && typeof entry.role === "string";
      }).slice(-HISTORY_LIMIT) : [];
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
  // A text with its {placeholders} filled; numbers written the language's way ("4,980").
  function t(key, params) {
    return textIn(language, key).replace(/\{(\w+)\}/g, function (field, name) {
      if (!params || !Object.prototype.hasOwnProperty.call(params, name)) return field;
      var value = params[name];
      return typeof value === "number" ? value.toLocaleString(language === "zh" ? "zh-CN" : "en")
        : String(value);
    });
  }
  // An element showing a catalogue text names it (data-text, and its placeholders' values in
  // data-text-params), so that a change of language rewrites it where it is.
  function setText(el, key, params) {
    el.setAttribute("data-text", key);
    if (params) el.setAttribute("data-text-params", JSON.stringify(params));
    else el.removeAttribute("data-text-params");
    el.textContent = t(key, params);
  }
  function paramsOf(el) {
    try { return JSON.parse(el.getAttribute("data-text-params") || "null"); } catch (e) { return null; }
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
    quietly(function () {
      Array.prototype.forEach.call(document.querySelectorAll("[data-text]"), function (el) {
        el.textContent = t(el.getAttribute("data-text"), paramsOf(el));
      });
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
  }

  // ---- rendering: text always through textContent, never innerHTML

  function now() {
    return new Date().toISOString();
  }
  function twoDigits(number) {
    return (number < 10 ? "0" : "") + number;
  }
  // HH:MM on the customer's own clock; nothing for an entry kept before times were.
  function renderTime(at) {
    var when = new Date(at);
    if (typeof at !== "string" || isNaN(when.getTime())) return null;
    var el = document.createElement("time");
    el.className = "time";
    el.setAttribute("datetime", at);
    el.textContent = twoDigits(when.getHours()) + ":" + twoDigits(when.getMinutes());
    return el;
  }

  function speakerLabel(entry) {
    var label = document.createElement("span");
    label.className = "visually-hidden";
    var who = document.createElement("span");
    if (entry.role === "agent" && entry.author) {
      setText(who, "webchat.agent_named", { name: entry.author });
    } else {
      setText(who, SPEAKERS[entry.role] || "webchat.assistant");
    }
    label.appendChild(who);
    label.appendChild(document.createTextNode(": "));
    return label;
  }

  function renderEntry(entry) {
    var item = document.createElement("div");
    item.className = "message " + entry.role + (entry.kind ? " " + entry.kind : "");
    if (entry.role === "agent" && entry.author) {
      var author = document.createElement("span");
      author.className = "author";
      author.setAttribute("aria-hidden", "true");  // the bubble's label says it to screen readers
      author.textContent = entry.author;
      item.appendChild(author);
    }
    var bubble = document.createElement("div");
    bubble.className = "bubble";
    if (entry.role !== "notice") bubble.appendChild(speakerLabel(entry));
    if (entry.role === "error" || entry.textKey) {
      var words = document.createElement("span");
      if (entry.role === "error") {
        // An entry kept before errors had their values: the limit was always this one.
        var params = entry.params || (entry.key === "tooLong" ? { max: MAX_LENGTH } : null);
        setText(words, ERRORS[entry.key] || ERRORS.unreachable, params);
      } else {
        setText(words, entry.textKey);
      }
      bubble.appendChild(words);
    } else {
      bubble.appendChild(document.createTextNode(String(entry.text || "")));
    }
    item.appendChild(bubble);
    var time = renderTime(entry.at);
    if (time) item.appendChild(time);
    if (Array.isArray(entry.buttons) && entry.buttons.length) item.appendChild(renderButtons(entry));
    if (entry.role === "error" && entry.payload) {
      var retry = document.createElement("button");
      retry.type = "button";
      retry.className = "retry";
      setText(retry, "webchat.retry");
      retry.addEventListener("click", function () { retryFailed(entry); });
      item.appendChild(retry);
    }
    return item;
  }

  function renderButtons(entry) {
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
    return row;
  }

  // The whole conversation, at the start and when a new one begins. The log is a live region:
  // what is rebuilt or relabelled there is not news, and only what arrives is announced.
  function renderAll() {
    quietly(function () {
      els.messages.textContent = "";
      els.messages.appendChild(renderEntry({ role: "bot", textKey: "webchat.intro" }));
      history.forEach(function (entry) {
        var node = renderEntry(entry);
        nodes.set(entry, node);
        els.messages.appendChild(node);
      });
    });
    scrollDown();
  }

  function quietly(change) {
    els.messages.setAttribute("aria-live", "off");
    change();
    // On again once the browser has taken the change in, at the next frame.
    window.requestAnimationFrame(function () {
      window.requestAnimationFrame(function () {
        els.messages.setAttribute("aria-live", "polite");
      });
    });
  }

  // Adds one entry, and its element only. A failed message stays last, under its Retry
  // button: an agent's reply arriving meanwhile goes above it.
  function addEntry(entry) {
    var index = history.length;
    var last = history[index - 1];
    if ((entry.role === "agent" || entry.role === "notice") && last && last.role === "error") {
      index -= 1;
    }
    history.splice(index, 0, entry);
    var node = renderEntry(entry);
    nodes.set(entry, node);
    var next = history[index + 1];
    els.messages.insertBefore(node, next ? nodes.get(next) : null);
    while (history.length > HISTORY_LIMIT) removeEntry(history[0]);
  }

  function removeEntry(entry) {
    var index = history.indexOf(entry);
    if (index >= 0) history.splice(index, 1);
    var node = nodes.get(entry);
    if (node && node.parentNode) node.parentNode.removeChild(node);
  }

  // At once, never smoothly: a scroll still under way would leave the newest message
  // hidden when the box changes size meanwhile.
  function scrollDown() {
    var list = els.messages;
    list.scrollTop = list.scrollHeight;
    pinnedAt = list.scrollTop;
    following = true;
  }
  // A reader at the newest message stays there when the conversation's box gets shorter (the
  // box below growing with its lines, a status line, the window turned); one who has scrolled
  // up to read stays where they are. Only the reader moves it up: this script's own scroll
  // is reported after the layout may have changed again.
  function keepNewestInView() {
    var list = els.messages;
    list.addEventListener("scroll", function () {
      following = list.scrollTop >= pinnedAt ||
        list.scrollHeight - list.scrollTop - list.clientHeight < 24;
    });
    if (typeof window.ResizeObserver !== "function") return;
    new window.ResizeObserver(function () {
      if (following) scrollDown();
    }).observe(list);
  }

  function setBusy(value) {
    busy = value;
    els.typing.hidden = !value;
    els.send.disabled = value;
    if (value) els.messages.setAttribute("aria-busy", "true");
    else els.messages.removeAttribute("aria-busy");
    scrollDown();
  }

  // ---- the box: several lines, Enter sends, a counter as the limit nears

  // Counted as the server counts (Python's len): an emoji is one.
  function lengthOf(text) {
    return Array.from(text).length;
  }

  function inputChanged() {
    var input = els.input;
    input.style.height = "auto";
    // scrollHeight leaves out the borders, which box-sizing: border-box counts.
    input.style.height = input.scrollHeight + input.offsetHeight - input.clientHeight + "px";
    updateCounter();
    sayTyping();
  }

  function updateCounter() {
    var count = lengthOf(els.input.value.trim());
    var over = count > MAX_LENGTH;
    els.counter.hidden = count < COUNTER_FROM;
    setText(els.counter, "webchat.counter", { count: count, max: MAX_LENGTH });
    els.counter.classList.toggle("over", over);
    if (over) {
      els.input.setAttribute("aria-invalid", "true");
    } else {
      els.input.removeAttribute("aria-invalid");
      els.composerError.hidden = true;
    }
  }

  function submitComposer() {
    var text = els.input.value.trim();
    if (busy || !text) return;
    var count = lengthOf(text);
    if (count > MAX_LENGTH) {
      // Never cut: the customer decides what to leave out.
      setText(els.composerError, "webchat.over_limit", { count: count, max: MAX_LENGTH });
      els.composerError.hidden = false;
      els.input.focus();
      return;
    }
    els.input.value = "";
    inputChanged();
    send(text, text);
  }

  // Tells the server the customer is typing, for an agent in a live chat to see.
  function sayTyping() {
    if (!typingHeard || !els.input.value.trim()) return;
    var time = Date.now();
    if (time - lastTypingSent < TYPING_EVERY_MS) return;
    lastTypingSent = time;
    fetch("/api/typing", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: "{}"
    }).then(function (response) {
      if (response.status === 404) typingHeard = false;  // a server without live chat
    }).catch(function () {
      // A lost "typing" is not worth a word.
    });
  }

  // ---- talking to the server

  function send(payload, shown) {
    if (busy || typeof payload !== "string" || !payload.trim()) return;
    // A new customer message: older quick replies and retries no longer apply.
    history.filter(function (entry) { return entry.role === "error"; }).forEach(removeEntry);
    history.forEach(function (entry) {
      if (!entry.buttons || entry.buttonsDisabled) return;
      entry.buttonsDisabled = true;
      var node = nodes.get(entry);
      if (node) {
        Array.prototype.forEach.call(node.querySelectorAll(".buttons button"), function (el) {
          el.disabled = true;
        });
      }
    });
    addEntry({ role: "user", text: shown, at: now() });
    saveHistory();
    scrollDown();
    post(payload);
  }

  function retryFailed(entry) {
    if (busy || !entry.payload) return;
    removeEntry(entry);
    saveHistory();
    post(entry.payload);
  }

  function post(payload) {
    var asked = conversation;
    setBusy(true);
    endOnServer().then(function () {
      return fetch("/api/message", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ message: payload })
      });
    }).then(function (response) {
      if (response.status === 413) {
        return response.json().then(function (body) {
          return { error: "tooLong", max: body && body.max_length };
        }, function () {
          return { error: "tooLong" };
        });
      }
      if (!response.ok) return { error: "unreachable" };
      return response.json().then(function (replies) {
        return Array.isArray(replies) ? { replies: replies } : { error: "unreachable" };
      });
    }).catch(function () {
      return { error: "unreachable" };
    }).then(function (result) {
      if (asked !== conversation) return;  // the customer ended that chat meanwhile
      setBusy(false);
      if (result.error === "tooLong") {
        var max = Number.isInteger(result.max) ? result.max : MAX_LENGTH;
        addEntry({ role: "error", key: "tooLong", params: { max: max }, at: now() });
        // Back in the box to be shortened, unless the customer has started another.
        if (!els.input.value) {
          els.input.value = payload;
          inputChanged();
        }
      } else if (result.error) {
        addEntry({ role: "error", key: "unreachable", payload: payload, at: now() });
      } else {
        // During a live chat the message went to the agent, and the answer is empty.
        result.replies.forEach(function (reply) {
          var entry = botEntry(reply);
          if (entry) addEntry(entry);
        });
      }
      saveHistory();
      scrollDown();
      els.input.focus();
    });
  }

  function buttonsOf(reply) {
    return Array.isArray(reply.buttons) ? reply.buttons.filter(function (b) {
      return b && (b.title || b.payload);
    }).map(function (b) {
      return { title: String(b.title || b.payload), payload: String(b.payload || b.title) };
    }) : [];
  }

  function botEntry(reply) {
    if (!reply || typeof reply !== "object") return null;
    var buttons = buttonsOf(reply);
    var text = typeof reply.text === "string" ? reply.text
      : (typeof reply.image === "string" ? reply.image : "");
    if (!text && !buttons.length) return null;
    var entry = { role: "bot", text: text, at: now() };
    if (buttons.length) entry.buttons = buttons;
    return entry;
  }

  // ---- agents' replies: pushed by the server as they come, and its inbox polled while the
  // page is visible. The poll is what a server without the stream has, and it notices what
  // the stream cannot: a session gone (the stream goes on with the cookie it started with)
  // and a stream that stalled somewhere on the way without a word.

  function agentEntry(reply) {
    if (!reply || !Number.isInteger(reply.id) || typeof reply.text !== "string") return null;
    var kind = REPLY_KINDS.indexOf(reply.kind) >= 0 ? reply.kind : "letter";
    var roles = { notice: "notice", reminder: "bot" };
    var entry = {
      role: roles[kind] || "agent",
      text: reply.text,
      replyId: reply.id,
      at: typeof reply.at === "string" ? reply.at : now()
    };
    if (!roles[kind]) {
      entry.kind = kind;
      if (typeof reply.author === "string" && reply.author) entry.author = reply.author;
    }
    var buttons = buttonsOf(reply);
    if (buttons.length) entry.buttons = buttons;
    return entry;
  }

  // Adds the replies not yet in the history and acknowledges all of them, new or not: one
  // already shown may be waiting for an acknowledgement that got lost.
  function keepAgentReplies(replies) {
    var ids = [];
    var added = false;
    replies.forEach(function (reply) {
      var entry = agentEntry(reply);
      if (!entry) return;
      ids.push(entry.replyId);
      var known = history.some(function (kept) { return kept.replyId === entry.replyId; });
      if (known) return;
      addEntry(entry);
      if (entry.role === "agent") hideAgentTyping();  // what they typed has arrived
      added = true;
    });
    if (added) scrollDown();
    // At least once: a reply is acknowledged only once it is saved, so one the browser could
    // not keep comes back at the next visit rather than being lost.
    if (ids.length && saveHistory()) return acknowledge(ids);
    return null;
  }

  function acknowledge(ids) {
    return fetch("/api/inbox/ack", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ ids: ids })
    });
  }

  function parsed(event) {
    try {
      var data = JSON.parse(event.data);
      return data && typeof data === "object" ? data : null;
    } catch (e) {
      return null;
    }
  }

  // GET /api/events. The browser reconnects by itself after a dropped connection; a refusal
  // is final (404 from a server without it, 401 without a session), and the poll goes on
  // alone until a new session or the page shown again.
  function listen() {
    if (events || endPending || typeof window.EventSource !== "function") return;
    var source = new EventSource("/api/events");
    events = source;
    source.addEventListener("open", function () {
      sessionRenewed = false;
    });
    source.addEventListener("reply", function (event) {
      var reply = parsed(event);
      var acknowledged = reply && keepAgentReplies([reply]);
      if (acknowledged) acknowledged.catch(function () { /* it comes again, and is shown once */ });
    });
    source.addEventListener("typing", function (event) { showAgentTyping(parsed(event)); });
    source.addEventListener("live", function (event) { showLiveState(parsed(event)); });
    source.addEventListener("error", function () {
      if (source.readyState !== EventSource.CLOSED) return;
      stopListening();
      hideAgentTyping();  // nothing will say when it ends
    });
  }

  function stopListening() {
    if (events) events.close();
    events = null;
  }

  function showAgentTyping(update) {
    if (!update || typeof update.author !== "string" || update.typing !== true) {
      hideAgentTyping();
      return;
    }
    setText(els.agentTyping, "webchat.agent_typing", { name: update.author });
    els.agentTyping.hidden = false;
  }

  function hideAgentTyping() {
    els.agentTyping.hidden = true;
  }

  // A line under the header while a person is, or is about to be, in the chat.
  function showLiveState(update) {
    var state = update && update.state;
    var agent = update && typeof update.agent === "string" ? update.agent : "";
    if (state === "waiting") {
      setText(els.liveStatus, "webchat.live_waiting");
    } else if (state === "live" && agent) {
      setText(els.liveStatus, "webchat.live_with", { name: agent });
    } else if (state === "live") {
      setText(els.liveStatus, "webchat.live_with_someone");
    }
    els.liveStatus.hidden = state !== "waiting" && state !== "live";
    if (els.liveStatus.hidden) hideAgentTyping();
  }

  function pollInbox() {
    if (inboxInFlight) return;  // it reschedules itself when it ends
    window.clearTimeout(inboxTimer);
    inboxInFlight = true;
    var asked = conversation;
    // While the server has not heard that the chat ended, its inbox is the old conversation's.
    endOnServer().then(function () {
      return endPending ? null : fetch("/api/inbox", { credentials: "same-origin" });
    }).then(function (response) {
      if (!response) return null;
      if (response.status === 401) return renewSession().then(function () { return null; });
      if (!response.ok) throw new Error("inbox " + response.status);
      return response.json();
    }).then(function (body) {
      if (!body || asked !== conversation) return null;
      sessionRenewed = false;
      return keepAgentReplies(Array.isArray(body.replies) ? body.replies : []);
    }).catch(function () {
      // Silent: the customer's own messages report their errors; the next poll tries again.
    }).then(function () {
      inboxInFlight = false;
      scheduleInboxPoll();
    });
  }

  // The session is gone (a month unused, or the browser dropped the cookie): loading the page
  // again starts a new one, and with it a new conversation, whose stream replaces the old
  // one's; the history shown here stays.
  function renewSession() {
    if (sessionRenewed) {
      showOnce("cookiesNeeded");
      return Promise.resolve();
    }
    sessionRenewed = true;
    return fetch("/", { credentials: "same-origin" }).then(function () {
      stopListening();
      listen();
    });
  }

  function showOnce(key) {
    var last = history[history.length - 1];
    if (last && last.role === "error" && last.key === key) return;
    addEntry({ role: "error", key: key, at: now() });
    saveHistory();
    scrollDown();
  }

  function scheduleInboxPoll() {
    window.clearTimeout(inboxTimer);
    if (document.visibilityState === "visible") {
      inboxTimer = window.setTimeout(pollInbox, INBOX_POLL_MS);
    }
  }

  // ---- ending the chat: the server forgets the session, this device the history

  function askToEnd() {
    if (typeof els.endDialog.showModal === "function") els.endDialog.showModal();
    else if (window.confirm(t("webchat.end_title"))) endChat();
  }

  function endChat() {
    conversation += 1;
    stopListening();
    window.clearTimeout(inboxTimer);
    els.endChat.disabled = true;
    endPending = true;
    store(KEYS.ending, "1");
    var ended = endOnServer();
    // Cleared at once whatever the server answers: the customer asked this device to forget.
    history = [];
    forget(KEYS.history);
    setBusy(false);
    showLiveState(null);
    els.input.value = "";
    inputChanged();
    renderAll();
    els.input.focus();
    ended.then(function () {
      els.endChat.disabled = false;
      sessionRenewed = false;
      pollInbox();
    });
  }

  // Tells the server the chat has ended, until it has heard it: whoever uses this device
  // next must not carry on that conversation (a verified number, an agent) with a message.
  function endOnServer() {
    if (!endPending) return Promise.resolve();
    if (endInFlight) return endInFlight;
    endInFlight = fetch("/api/end", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: "{}"
    }).then(function (response) {
      // 404: a server without live chat, which has no conversation to end.
      if (!response.ok && response.status !== 404) return null;
      endPending = false;
      forget(KEYS.ending);
      // The server has dropped the cookie: a new session for the new conversation.
      return fetch("/", { credentials: "same-origin" }).then(function () {
        stopListening();
        listen();
      });
    }).catch(function () {
      // Said again before the next poll or message.
    }).then(function () {
      endInFlight = null;
    });
    return endInFlight;
  }

  // ---- start

  function setLarger(on) {
    els.chat.classList.toggle("larger", on);
    els.larger.setAttribute("aria-pressed", on ? "true" : "false");
    store(KEYS.larger, on ? "1" : "0");
    // Larger text pushes the newest messages down, out of view: bring them back.
    scrollDown();
  }

  function start() {
    var ids = {
      chat: "chat",
      messages: "messages",
      typing: "typing",
      agentTyping: "agent-typing",
      liveStatus: "live-status",
      composer: "composer",
      composerError: "composer-error",
      input: "input",
      counter: "counter",
      send: "send",
      language: "language",
      larger: "larger-text",
      endChat: "end-chat",
      endDialog: "end-dialog",
      endCancel: "end-cancel",
      endConfirm: "end-confirm"
    };
    Object.keys(ids).forEach(function (name) {
      els[name] = document.getElementById(ids[name]);
    });
    TEXTS = loadTexts();
    history = loadHistory();
    endPending = load(KEYS.ending) === "1";
    language = pickLanguage();
    setLarger(load(KEYS.larger) === "1");
    renderAll();
    applyLanguage();
    keepNewestInView();
    // A returning customer starts at their latest message: scroll again once the fonts have
    // settled how long each bubble wraps.
    if (document.fonts && document.fonts.ready) document.fonts.ready.then(scrollDown);

    els.composer.addEventListener("submit", function (event) {
      event.preventDefault();
      submitComposer();
    });
    els.input.addEventListener("keydown", function (event) {
      // Enter sends and Shift+Enter breaks the line; an input method's Enter (Chinese
      // pinyin) picks its candidate.
      if (event.key !== "Enter" || event.shiftKey || event.isComposing || event.keyCode === 229) {
        return;
      }
      event.preventDefault();
      submitComposer();
    });
    els.input.addEventListener("input", inputChanged);
    els.language.addEventListener("click", function () {
      language = otherLanguage();
      store(KEYS.language, language);
      applyLanguage();
    });
    els.larger.addEventListener("click", function () {
      setLarger(!els.chat.classList.contains("larger"));
    });
    els.endChat.addEventListener("click", askToEnd);
    els.endCancel.addEventListener("click", function () { els.endDialog.close(); });
    els.endConfirm.addEventListener("click", function () {
      els.endDialog.close();
      endChat();
    });
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState !== "visible") {
        window.clearTimeout(inboxTimer);
        return;
      }
      listen();  // again, after a refusal: the server may have gained it since
      pollInbox();
    });
    listen();
    pollInbox();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
