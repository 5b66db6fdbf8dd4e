/* ShopDesk chat widget: Rasa's socket.io channel (bot/rasa_channel.py), no framework, no CDN.
 *
 * - the conversation survives reloads: the session id (issued and signed by our server: POST
 *   /api/widget/session, or a fresh one in session_confirm) lives in localStorage and the transcript is
 *   redrawn from GET /api/widget/history (header X-ShopDesk-Session; Rasa's tracker, read by our server);
 * - socket.io goes to this page's origin by default, where the bot service proxies it to Rasa;
 * - renders text, quick replies / buttons, images, product cards (carousel) and agent / notice messages;
 * - every text goes through textContent, never innerHTML;
 * - Enter sends, except while an IME composition is in progress (Chinese, Japanese, Korean input);
 * - keyboard and screen-reader friendly (labelled controls, a live log, Escape closes);
 * - its own strings in English or Chinese (one table, bot/messages.py WIDGET, handed over in the config):
 *   first the page's language (data-lang on this script or on the config element, else <html lang>), then
 *   the conversation's: the history endpoint's "language" after a reload and the channel's
 *   "shopdesk_language" event after every message (bot/language.py decides both from Rasa's tracker).
 *   Every message carries metadata.page_language, the tracker's fallback while nothing is decided.
 * - asks for a 1-5 rating when a conversation ends: widget_csat.js (loaded first), told what happens here.
 * - typing indicators both ways while a person has the conversation: widget_typing.js (loaded first), told here.
 */
(function () {
  "use strict";

  var configElement = document.getElementById("shopdesk-widget-config");
  var config = JSON.parse(configElement.textContent);
  var script = document.currentScript;
  var STORAGE_KEY = "shopdesk.session_id";
  var OPEN_KEY = "shopdesk.open";
  var TYPING_TIMEOUT_MS = 20000;

  var SESSION_RE = /^[0-9a-f]{64}$/;

  var sessionId = window.localStorage.getItem(STORAGE_KEY);
  if (!sessionId || !SESSION_RE.test(sessionId)) { sessionId = null; }

  function storeSession(id) {
    sessionId = id;
    window.localStorage.setItem(STORAGE_KEY, id);
  }

  /* A session id signed by our server: the stored one, or a fresh one from POST /api/widget/session. */
  function freshSession() {
    return fetch("/api/widget/session", { method: "POST", credentials: "same-origin" })
      .then(function (response) { if (!response.ok) { throw new Error("session " + response.status); } return response.json(); })
      .then(function (body) {
        if (typeof body.session_id !== "string" || !SESSION_RE.test(body.session_id)) { throw new Error("bad session"); }
        storeSession(body.session_id);
        return sessionId;
      });
  }

  // ---- language: the page's, then the conversation's ---------------------------------------------------
  var STRINGS = config.strings || {};
  var LANGUAGE_TAGS = { en: "en", zh: "zh-CN" };
  function normalizeLanguage(tag) {  // "zh-CN", "zh_Hant", "EN-gb" -> "zh" / "en"; anything else -> null
    var primary = String(tag || "").trim().replace("_", "-").split("-")[0].toLowerCase();
    return LANGUAGE_TAGS.hasOwnProperty(primary) ? primary : null;
  }
  var pageLanguage = normalizeLanguage(script && script.getAttribute("data-lang")) ||
    normalizeLanguage(configElement.getAttribute("data-lang")) ||
    normalizeLanguage(document.documentElement.getAttribute("lang")) || "en";
  var language = pageLanguage;

  /* The widget string `key` in the current language, {placeholders} filled from `values`. */
  function t(key, values) {
    var text = (STRINGS[language] || {})[key];
    if (typeof text !== "string") { text = (STRINGS.en || {})[key]; }
    if (typeof text !== "string") { text = key; }
    return text.replace(/\{(\w+)\}/g, function (all, name) {
      return values && values[name] !== undefined && values[name] !== null ? String(values[name]) : all;
    });
  }

  var localized = [];  // [node, attribute ("text" = textContent), string key]: relabelled on a switch
  function label(node, attribute, key) {
    localized.push([node, attribute, key]);
    if (attribute === "text") { node.textContent = t(key); } else { node.setAttribute(attribute, t(key)); }
    return node;
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  // ---- DOM ------------------------------------------------------------------------------------------
  var root = el("div", { "class": "sd-widget", id: "shopdesk-widget" });
  var launcher = el("button", {
    "class": "sd-launcher", type: "button", "aria-expanded": "false", "aria-controls": "sd-panel"
  });
  label(label(launcher, "aria-label", "launcher_label"), "text", "launcher");
  var panel = label(el("section", { "class": "sd-panel", id: "sd-panel", role: "dialog", hidden: "" }), "aria-label", "panel_label");
  var header = el("header", { "class": "sd-header" });
  header.appendChild(label(el("h2", { "class": "sd-title" }), "text", "title"));
  var closeButton = label(el("button", { "class": "sd-close", type: "button" }, "×"), "aria-label", "close_label");
  header.appendChild(closeButton);
  var banner = el("p", { "class": "sd-banner", role: "status", "aria-live": "polite", hidden: "" });
  var connection = el("p", { "class": "sd-connection", role: "status", "aria-live": "polite", hidden: "" });
  var log = label(el("ol", { "class": "sd-log", role: "log", "aria-live": "polite" }), "aria-label", "log_label");
  var typing = label(el("li", { "class": "sd-typing", hidden: "" }), "aria-label", "typing_label");
  typing.appendChild(el("span", { "aria-hidden": "true" }, "•••"));
  var form = el("form", { "class": "sd-form" });
  var input = el("textarea", { "class": "sd-input", rows: "1", maxlength: String(config.maxChars || 2000) });
  label(label(input, "aria-label", "input_label"), "placeholder", "placeholder");
  var send = label(label(el("button", { "class": "sd-send", type: "submit" }), "aria-label", "send_label"), "text", "send");
  form.appendChild(input);
  form.appendChild(send);
  panel.appendChild(header);
  panel.appendChild(banner);
  panel.appendChild(connection);
  panel.appendChild(log);
  panel.appendChild(form);
  root.appendChild(panel);
  root.appendChild(launcher);
  document.body.appendChild(root);

  // ---- open / close ---------------------------------------------------------------------------------
  function setOpen(open, focus) {
    if (open) { panel.removeAttribute("hidden"); } else { panel.setAttribute("hidden", ""); }
    launcher.setAttribute("aria-expanded", open ? "true" : "false");
    launcher.hidden = open;
    window.sessionStorage.setItem(OPEN_KEY, open ? "1" : "0");
    if (focus) { (open ? input : launcher).focus(); }
    if (open) { scrollDown(); }
  }
  launcher.addEventListener("click", function () { setOpen(true, true); });
  closeButton.addEventListener("click", function () { setOpen(false, true); });
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { setOpen(false, true); }
  });

  function scrollDown() { log.scrollTop = log.scrollHeight; }

  // ---- mode: bot / queued / agent -------------------------------------------------------------------
  var mode = "bot";
  var modeAgent = null;
  function setMode(next, agentName) {
    mode = next;
    if (csat) { csat.modeChanged(next); }
    if (typingSide) { typingSide.modeChanged(next); }
    modeAgent = agentName || null;
    if (next === "agent") {
      banner.textContent = t("agent_banner", { name: agentName || t("our_team") });
      banner.removeAttribute("hidden");
    } else if (next === "queued") {
      banner.textContent = t("queued_banner");
      banner.removeAttribute("hidden");
    } else {
      banner.textContent = "";
      banner.setAttribute("hidden", "");
    }
    root.setAttribute("data-mode", next);
  }

  // ---- the rating card (widget_csat.js) -------------------------------------------------------------
  var csat = window.ShopDeskCsat ? window.ShopDeskCsat.create({
    root: root, config: config, configElement: configElement, t: t, el: el, label: label,
    insert: function (item) { if (typing.parentNode === log) { log.insertBefore(item, typing); } else { log.appendChild(item); } },
    scrollDown: scrollDown,
    sessionId: function () { return sessionId; },
    language: function () { return language; }
  }) : null;

  // ---- typing indicators during a handoff (widget_typing.js) -------------------------------------------
  var typingSide = window.ShopDeskTyping ? window.ShopDeskTyping.create({
    root: root, form: form, input: input, t: t, el: el, sessionId: function () { return sessionId; }
  }) : null;

  // ---- typing indicator -----------------------------------------------------------------------------
  var typingTimer = null;
  function showTyping() {
    if (mode !== "bot") { return; }
    log.appendChild(typing);
    typing.removeAttribute("hidden");
    scrollDown();
    clearTimeout(typingTimer);
    typingTimer = setTimeout(hideTyping, TYPING_TIMEOUT_MS);
  }
  function hideTyping() {
    clearTimeout(typingTimer);
    typing.setAttribute("hidden", "");
  }

  // ---- rendering ------------------------------------------------------------------------------------
  function bubble(role, agentName) {
    var item = el("li", { "class": "sd-msg sd-" + role });
    if (role === "agent") {
      item.appendChild(el("span", { "class": "sd-who" }, t("agent_byline", { name: agentName || t("agent") })));
    }
    if (typing.parentNode === log) { log.insertBefore(item, typing); } else { log.appendChild(item); }
    return item;
  }

  function safeUrl(url) {
    if (typeof url !== "string") { return null; }
    if (/^(https?:)?\/\//i.test(url) || url.charAt(0) === "/") { return url; }
    return null;
  }

  function renderButtons(item, buttons) {
    var group = el("div", { "class": "sd-replies", role: "group", "aria-label": t("replies_label") });
    buttons.forEach(function (button) {
      var b = el("button", { type: "button", "class": "sd-reply" }, button.title);
      b.addEventListener("click", function () {
        sendMessage(button.payload, button.title);
        group.querySelectorAll("button").forEach(function (x) { x.disabled = true; });
      });
      group.appendChild(b);
    });
    item.appendChild(group);
  }

  function renderCards(item, payload) {
    var cards = Array.isArray(payload.cards) ? payload.cards : [];
    if (payload.text) { item.appendChild(el("p", {}, payload.text)); }
    var wrap = el("div", { "class": "sd-carousel" });
    var list = el("ul", { "class": "sd-cards", "aria-label": t("cards_label"), tabindex: "0" });
    cards.forEach(function (card, index) {
      var li = el("li", { "class": "sd-card", "aria-label": t("card_label", { index: index + 1, count: cards.length, title: card.title || "" }) });
      var image = safeUrl(card.image_url);
      if (image) { li.appendChild(el("img", { src: image, alt: card.title || "", loading: "lazy" })); }
      var link = safeUrl(card.url);
      var title = el(link ? "a" : "span", link ? { href: link, "class": "sd-card-title" } : { "class": "sd-card-title" }, card.title || "");
      li.appendChild(title);
      li.appendChild(el("span", { "class": "sd-card-price" }, card.price_text || ((card.price || "") + " " + (card.currency || ""))));
      if (card.reason) { li.appendChild(el("span", { "class": "sd-card-reason" }, card.reason)); }
      list.appendChild(li);
    });
    var prev = el("button", { type: "button", "class": "sd-prev", "aria-label": t("previous_products") }, "‹");
    var next = el("button", { type: "button", "class": "sd-next", "aria-label": t("next_products") }, "›");
    prev.addEventListener("click", function () { list.scrollBy({ left: -list.clientWidth * 0.8, behavior: "smooth" }); });
    next.addEventListener("click", function () { list.scrollBy({ left: list.clientWidth * 0.8, behavior: "smooth" }); });
    wrap.appendChild(prev);
    wrap.appendChild(list);
    wrap.appendChild(next);
    item.appendChild(wrap);
  }

  function renderAttachment(item, attachment) {
    if (!attachment || typeof attachment !== "object") { return; }
    var payload = attachment.payload || {};
    if (attachment.type === "image" && safeUrl(payload.src)) {
      item.appendChild(el("img", { src: payload.src, alt: payload.alt || t("image_alt"), "class": "sd-image" }));
    } else if (attachment.type === "template" && Array.isArray(payload.elements)) {
      renderCards(item, {
        cards: payload.elements.map(function (e) {
          return { title: e.title, image_url: e.image_url, price_text: e.subtitle, url: (e.default_action || {}).url };
        })
      });
    }
  }

  /* One message from the server (live bot_uttered or history). Returns the list item. */
  function render(message) {
    var role = message.role === "agent" || message.role === "notice" || message.role === "shopper" ? message.role : "bot";
    if (role === "notice" && message.event === "joined") { setMode("agent", message.agent_name); }
    if (role === "notice" && message.event === "left") { setMode("bot"); }
    // "queued": waiting for a person — after the handoff, or back in the queue from an agent (transfer, offline)
    if (message.event === "queued" && (mode === "bot" || role === "notice")) { setMode("queued"); }
    if (role === "agent" && mode !== "agent") { setMode("agent", message.agent_name); }
    var item = bubble(role, message.agent_name);
    var custom = message.custom;
    if (message.text) { item.appendChild(el("p", {}, message.text)); }
    if (message.image && safeUrl(message.image)) {
      item.appendChild(el("img", { src: message.image, alt: t("image_alt"), "class": "sd-image" }));
    }
    renderAttachment(item, message.attachment);
    if (custom && typeof custom === "object") {
      if (custom.type === "product_cards") { renderCards(item, custom); }
      else if (custom.text && !message.text) { item.appendChild(el("p", {}, custom.text)); }
    }
    var buttons = message.quick_replies || message.buttons;
    if (Array.isArray(buttons) && buttons.length) { renderButtons(item, buttons); }
    if (!item.childNodes.length) { item.remove(); return null; }
    scrollDown();
    return item;
  }

  // ---- socket ---------------------------------------------------------------------------------------
  var socketOptions = {
    path: config.socketPath || "/socket.io/",
    transports: ["websocket"],
    reconnectionDelayMax: 5000,
    autoConnect: false
  };
  var socket = config.socketUrl ? window.io(config.socketUrl, socketOptions) : window.io(socketOptions);
  var confirmed = false;
  var outbox = [];

  var connectionKey = null;
  function showConnection(key) {  // a WIDGET string key, or null to hide the line
    connectionKey = key || null;
    if (key) { connection.textContent = t(key); connection.removeAttribute("hidden"); }
    else { connection.textContent = ""; connection.setAttribute("hidden", ""); }
  }

  /* Switches the widget's own strings (what is already in the log stays as it was written). */
  function setLanguage(next) {
    next = normalizeLanguage(next);
    if (!next || next === language) { return; }
    language = next;
    applyLanguage();
  }
  function applyLanguage() {
    root.setAttribute("lang", LANGUAGE_TAGS[language]);
    root.setAttribute("data-lang", language);
    localized.forEach(function (entry) {
      if (entry[1] === "text") { entry[0].textContent = t(entry[2]); } else { entry[0].setAttribute(entry[1], t(entry[2])); }
    });
    setMode(mode, modeAgent);
    showConnection(connectionKey);
  }

  socket.on("connect", function () {
    socket.emit("session_request", { session_id: sessionId });
  });
  socket.on("session_confirm", function (confirmedId) {
    if (typeof confirmedId === "string" && SESSION_RE.test(confirmedId) && confirmedId !== sessionId) {
      storeSession(confirmedId);  // the server refused the stored id and issued a new one
    }
    confirmed = true;
    showConnection(null);
    root.setAttribute("data-connected", "true");
    while (outbox.length) { socket.emit("user_uttered", outbox.shift()); }
  });
  socket.on("disconnect", function () {
    confirmed = false;
    root.setAttribute("data-connected", "false");
    showConnection("connection_lost");
  });
  socket.on("connect_error", function () {
    showConnection("unreachable");
  });
  socket.on("shopdesk_language", function (data) {  // the conversation's language after each message
    if (data && typeof data === "object") { setLanguage(data.language); }
  });
  socket.on("bot_uttered", function (message) {
    if (!message || typeof message !== "object") { return; }
    if (message.role !== "notice") { hideTyping(); }
    render(message);
    if (csat) { csat.botSaid(message); }
    if (typingSide) { typingSide.botSaid(message); }
  });

  function sendMessage(payload, title) {
    var text = String(payload || "").trim();
    if (!text) { return; }
    render({ role: "shopper", text: title || text });
    if (csat) { csat.shopperSpoke(); }
    if (typingSide) { typingSide.shopperSent(); }
    var frame = { message: text, metadata: { page_language: pageLanguage } };  // the server knows the session
    if (title) { frame.metadata.title = title; }
    if (confirmed) { socket.emit("user_uttered", frame); } else { outbox.push(frame); }
    showTyping();
  }

  // ---- input: Enter sends, but never while an IME composition is open --------------------------------
  var composing = false;
  var compositionEndedAt = 0;
  input.addEventListener("compositionstart", function () { composing = true; });
  input.addEventListener("compositionend", function () { composing = false; compositionEndedAt = Date.now(); });
  input.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || event.shiftKey) { return; }
    // keyCode 229: the IME owns this key press; Safari ends the composition just before the Enter keydown.
    if (event.isComposing || composing || event.keyCode === 229 || Date.now() - compositionEndedAt < 30) { return; }
    event.preventDefault();
    form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit", { cancelable: true }));
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value;
    if (!text.trim()) { return; }
    input.value = "";
    sendMessage(text);
  });

  // ---- history after a reload, then the socket ----------------------------------------------------------
  function loadHistory() {
    if (!sessionId) { return freshSession().then(function () { return { messages: [], mode: "bot" }; }); }
    return fetch("/api/widget/history", { credentials: "same-origin", headers: { "X-ShopDesk-Session": sessionId } })
      .then(function (response) {
        if (response.status === 403 || response.status === 400) {  // not an id our server issued
          return freshSession().then(function () { return { messages: [], mode: "bot" }; });
        }
        return response.ok ? response.json() : { messages: [], mode: "bot" };
      });
  }

  loadHistory()
    .then(function (history) {
      var pending = Array.prototype.slice.call(log.children);  // anything that arrived meanwhile stays last
      pending.forEach(function (node) { node.remove(); });
      (history.messages || []).forEach(render);
      pending.forEach(function (node) { log.appendChild(node); });
      var agent = (history.messages || []).filter(function (m) { return m.agent_name; }).pop();
      setLanguage(history.language);
      setMode(history.mode || "bot", agent && agent.agent_name);
      root.setAttribute("data-history", "loaded");
    })
    .catch(function () { root.setAttribute("data-history", "failed"); })
    .then(function () { socket.connect(); });  // without a session id the server issues one on connect

  applyLanguage();
  setMode("bot");
  setOpen(window.sessionStorage.getItem(OPEN_KEY) === "1", false);
  window.ShopDeskWidget = {
    sessionId: function () { return sessionId; },
    open: function () { setOpen(true, true); },
    language: function () { return language; }
  };
})();
