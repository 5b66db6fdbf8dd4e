/* ShopDesk agent console: queue, claim, live transcript, reply, hand back, closed conversations, tickets.
 * Live updates come over /api/console/ws; after a reconnect (e.g. a console restart) everything is reloaded
 * from the API, so nothing shown is stale. All text goes through textContent. Each conversation shows its
 * language (badge "EN" / "中文", kept current by the service's tracker sync); the console's UI stays English.
 * The mood badge, trend and driving messages are drawn by console_mood.js (window.ShopDeskMood); the waiting
 * queue comes from the service already in its order (waiting time and negative mood, docs/handoff.md).
 */
(function () {
  "use strict";

  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var api = window.ShopDeskApi;  // GET/POST/... JSON with the CSRF header (shopdesk_api.js)
  var me = document.querySelector('meta[name="agent-email"]').content;
  var selected = null;        // handoff id shown in the middle
  var selectedKind = "conv";  // "conv" or "ticket"
  var shownIds = {};          // message ids already in the transcript
  var unread = {};
  var queueData = { queued: [], active: [], now: 0 };
  var clockSkew = 0;

  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }
  function status(text) { $("status").textContent = text || ""; }

  // ---- feature hooks (window.ShopDeskConsole) ------------------------------------------------------------
  // The console's feature scripts (console_*.js, loaded after this one) register here; nothing starts before
  // DOMContentLoaded, so every listener is in place for the first queue and the first socket frame.
  // Events: "conversation" (conv JSON from GET /api/console/conversations/{id}, after the header, transcript and
  // context are drawn), "ticket" (ticket JSON), "frame" (every parsed websocket frame), "queue" (queueData after
  // the lists are drawn), "live" (true / false when the socket opens / closes).
  var listeners = {};
  var liveSocket = null;
  function emit(name, detail) {
    (listeners[name] || []).forEach(function (fn) {
      try { fn(detail); } catch (error) { if (window.console) { window.console.error(error); } }
    });
  }
  window.ShopDeskConsole = {
    me: document.querySelector('meta[name="agent-email"]').content,
    csrf: csrf,
    api: function (method, path, body) { return api(method, path, body); },
    el: function (tag, attrs, text) { return el(tag, attrs, text); },
    status: function (text) { status(text); },
    selected: function () { return selectedKind === "conv" ? selected : null; },
    queue: function () { return queueData; },
    openConversation: function (id) { return openConversation(id); },
    openTicket: function (id) { return openTicket(id); },
    loadQueue: function () { return loadQueue(); },
    // a JSON frame to the service over the console socket; false when the socket is not open
    send: function (frame) {
      if (!liveSocket || liveSocket.readyState !== 1) { return false; }
      liveSocket.send(JSON.stringify(frame));
      return true;
    },
    on: function (name, fn) { (listeners[name] = listeners[name] || []).push(fn); }
  };

  function ago(seconds) {
    seconds = Math.max(0, Math.round(seconds));
    return seconds < 60 ? seconds + " s" : Math.floor(seconds / 60) + " min " + (seconds % 60) + " s";
  }

  // ---- language badge ---------------------------------------------------------------------------------
  var LANGUAGES = {
    en: { badge: "EN", tag: "en", title: "The shopper writes in English" },
    zh: { badge: "中文", tag: "zh-CN", title: "The shopper writes in Chinese (answer in Simplified Chinese)" }
  };
  function languageBadge(language) {
    var known = LANGUAGES[language] || LANGUAGES.en;
    return el("span", {
      "class": "lang-badge lang-" + (LANGUAGES[language] ? language : "en"), lang: known.tag,
      "data-language": LANGUAGES[language] ? language : "en", title: known.title, "aria-label": known.title
    }, known.badge);
  }

  // ---- lists ----------------------------------------------------------------------------------------
  function convButton(item, label, meta) {
    var li = el("li");
    var button = el("button", { type: "button", "data-id": item.id, "data-language": item.language || "en" }, "");
    button.appendChild(languageBadge(item.language));
    button.appendChild(el("span", {}, label));
    if (item.status !== "closed") { button.appendChild(window.ShopDeskMood.badge(item)); }
    var m = el("span", { "class": "conv-meta" }, meta);
    button.appendChild(m);
    if (item.id === selected) { button.classList.add("selected"); }
    if (unread[item.id]) { button.classList.add("unread"); }
    button.addEventListener("click", function () { openConversation(item.id); });
    li.appendChild(button);
    return li;
  }

  function renderQueue() {
    var now = Date.now() / 1000 - clockSkew;
    var queued = $("queued-list"), active = $("active-list");
    queued.textContent = ""; active.textContent = "";
    queueData.queued.forEach(function (item) {
      var li = convButton(item, "#" + item.position + " " + (item.customer_name || "Guest shopper"),
        "waiting " + ago(now - item.created_at) + " · " + item.reason);
      var meta = li.querySelector(".conv-meta");
      meta.setAttribute("data-created", String(item.created_at));
      meta.setAttribute("data-reason", item.reason);
      li.querySelector("button").title = "Priority " + Number(item.priority).toFixed(2) +
        " = minutes waited + 5 \u00d7 negative mood (docs/handoff.md)";
      queued.appendChild(li);
    });
    queueData.active.forEach(function (item) {
      var who = item.agent_email === me ? "you" : item.agent_name;
      active.appendChild(convButton(item, (item.customer_name || "Guest shopper") + " — " + who, item.reason));
    });
    if (!queueData.queued.length) { queued.appendChild(el("li", { "class": "conv-meta" }, "Nobody is waiting.")); }
    if (!queueData.active.length) { active.appendChild(el("li", { "class": "conv-meta" }, "None.")); }
    emit("queue", queueData);
    // the open conversation's header badge follows a language switch (the queue is reloaded on each change)
    var open = queueData.queued.concat(queueData.active).filter(function (item) { return item.id === selected; })[0];
    var badge = document.querySelector("#conv-header .lang-badge");
    if (open && badge && badge.getAttribute("data-language") !== open.language) {
      badge.replaceWith(languageBadge(open.language));
    }
  }

  function loadQueue() {
    return api("GET", "/api/console/queue").then(function (data) {
      clockSkew = Date.now() / 1000 - data.now;
      queueData = data;
      renderQueue();
    }).catch(function (error) { status(error.message); });
  }

  function loadClosed() {
    return api("GET", "/api/console/closed").then(function (data) {
      var list = $("closed-list");
      list.textContent = "";
      data.closed.forEach(function (item) {
        list.appendChild(convButton(item, (item.customer_name || "Guest shopper") + " — " + (item.agent_name || ""),
          new Date(item.closed_at * 1000).toLocaleString()));
      });
      if (!data.closed.length) { list.appendChild(el("li", { "class": "conv-meta" }, "No closed conversations.")); }
    }).catch(function (error) { status(error.message); });
  }

  function loadTickets() {
    return api("GET", "/api/console/tickets").then(function (data) {
      var list = $("ticket-list");
      list.textContent = "";
      data.tickets.forEach(function (ticket) {
        var li = el("li");
        var button = el("button", { type: "button" });
        button.appendChild(el("span", {}, ticket.email + (ticket.status === "resolved" ? " ✓" : "")));
        button.appendChild(el("span", { "class": "conv-meta" }, ticket.message.slice(0, 80)));
        button.addEventListener("click", function () { openTicket(ticket.id); });
        li.appendChild(button);
        list.appendChild(li);
      });
      if (!data.tickets.length) { list.appendChild(el("li", { "class": "conv-meta" }, "No tickets.")); }
    }).catch(function (error) { status(error.message); });
  }

  // ---- one conversation -----------------------------------------------------------------------------
  function appendLine(message) {
    if (shownIds[message.id]) { return; }
    shownIds[message.id] = true;
    var who = { shopper: "Shopper", bot: "Assistant", agent: (message.meta && message.meta.agent_name) || "Agent", notice: "" }[message.role];
    var li = el("li", { "class": "line " + message.role, "data-role": message.role, "data-message-id": String(message.id) });
    if (message.meta && message.meta.unconfirmed) {  // the edge feed showed it before Rasa recorded it
      li.classList.add("unconfirmed");
      li.title = "Not yet recorded by the assistant";
    }
    if (who) { li.appendChild(el("span", { "class": "who" }, who)); }
    li.appendChild(el("span", { "class": "text" }, message.text));
    window.ShopDeskMood.decorate(li, message);
    $("transcript").appendChild(li);
    $("transcript").scrollTop = $("transcript").scrollHeight;
  }

  function renderContext(context) {
    var box = $("context-body");
    box.textContent = "";
    var customer = context.customer;
    if (customer && typeof customer === "object") {
      var dl = el("dl");
      Object.keys(customer).forEach(function (k) {
        dl.appendChild(el("dt", {}, k));
        dl.appendChild(el("dd", {}, typeof customer[k] === "object" ? JSON.stringify(customer[k]) : customer[k]));
      });
      box.appendChild(el("h3", {}, "Customer"));
      box.appendChild(dl);
    } else {
      box.appendChild(el("p", {}, "Customer not verified."));
    }
    ["orders", "cart"].forEach(function (key) {
      var items = context[key];
      box.appendChild(el("h3", {}, key === "orders" ? "Orders" : "Cart"));
      if (!Array.isArray(items) || !items.length) { box.appendChild(el("p", {}, "None.")); return; }
      var ul = el("ul");
      items.forEach(function (item) {
        var text = typeof item === "object"
          ? [item.number || item.id || item.product_id, item.status, item.total || item.title, item.quantity ? "× " + item.quantity : ""].filter(Boolean).join(" · ")
          : item;
        ul.appendChild(el("li", {}, text));
      });
      box.appendChild(ul);
    });
  }

  function renderHeader(conv) {
    var header = $("conv-header");
    header.textContent = "";
    header.appendChild(languageBadge(conv.language));
    header.appendChild(el("p", {}, (conv.customer_name || "Guest shopper") + " · " + conv.reason + " · " + conv.status +
      (conv.agent_name ? " (" + conv.agent_name + ")" : "")));
    if (conv.status === "queued") {
      var claim = el("button", { type: "button", id: "claim" }, "Claim");
      claim.addEventListener("click", function () {
        api("POST", "/api/console/conversations/" + conv.id + "/claim").then(function () {
          status(""); return Promise.all([openConversation(conv.id), loadQueue()]);
        }).catch(function (error) { status(error.message); openConversation(conv.id); });
      });
      header.appendChild(claim);
    }
    if (conv.status === "active" && conv.mine) {
      var close = el("button", { type: "button", id: "hand-back", "class": "secondary" }, "Close & hand back to the bot");
      close.addEventListener("click", function () {
        api("POST", "/api/console/conversations/" + conv.id + "/close").then(function () {
          status(""); return Promise.all([openConversation(conv.id), loadQueue()]);
        }).catch(function (error) { status(error.message); });
      });
      header.appendChild(close);
    }
    $("reply-form").hidden = !(conv.status === "active" && conv.mine);
  }

  function openConversation(id) {
    selected = id; selectedKind = "conv";
    delete unread[id];
    return api("GET", "/api/console/conversations/" + encodeURIComponent(id)).then(function (conv) {
      if (selected !== id) { return; }
      $("transcript").textContent = "";
      shownIds = {};
      renderHeader(conv);
      window.ShopDeskMood.render(conv);  // before the lines, so the driving ones are marked as they are added
      conv.messages.forEach(appendLine);
      renderContext(conv.context || {});
      document.querySelectorAll(".conv-list button").forEach(function (b) {
        b.classList.toggle("selected", b.getAttribute("data-id") === id);
      });
      emit("conversation", conv);
    }).catch(function (error) { status(error.message); });
  }

  function refreshMood(id) {
    return api("GET", "/api/console/conversations/" + encodeURIComponent(id)).then(function (conv) {
      if (selected === id && selectedKind === "conv") { window.ShopDeskMood.render(conv); }
    }).catch(function (error) { status(error.message); });
  }

  function openTicket(id) {
    selected = id; selectedKind = "ticket";
    return api("GET", "/api/console/tickets/" + encodeURIComponent(id)).then(function (ticket) {
      $("transcript").textContent = "";
      shownIds = {};
      window.ShopDeskMood.clear("Tickets have no mood trend.");
      var header = $("conv-header");
      header.textContent = "";
      header.appendChild(el("p", {}, "Ticket " + ticket.id + " from " + ticket.email + " · " + ticket.status));
      if (ticket.status === "open") {
        var resolve = el("button", { type: "button" }, "Mark resolved");
        resolve.addEventListener("click", function () {
          api("POST", "/api/console/tickets/" + ticket.id + "/resolve").then(function () { openTicket(id); loadTickets(); })
            .catch(function (error) { status(error.message); });
        });
        header.appendChild(resolve);
      }
      $("reply-form").hidden = true;
      var li = el("li", { "class": "line shopper" });
      li.appendChild(el("span", { "class": "who" }, "Message"));
      li.appendChild(el("span", { "class": "text" }, ticket.message));
      $("transcript").appendChild(li);
      (ticket.transcript || []).forEach(function (line, i) {
        appendLine({ id: "t" + i, role: line.role, text: line.text, meta: {} });
      });
      renderContext({});
      emit("ticket", ticket);
    }).catch(function (error) { status(error.message); });
  }

  // ---- reply box (Enter sends; not during IME composition) ------------------------------------------
  var composing = false;
  var replyText = $("reply-text");
  replyText.addEventListener("compositionstart", function () { composing = true; });
  replyText.addEventListener("compositionend", function () { composing = false; });
  replyText.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || event.shiftKey || event.isComposing || composing || event.keyCode === 229) { return; }
    event.preventDefault();
    $("reply-form").requestSubmit();
  });
  $("reply-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var text = replyText.value.trim();
    if (!text || !selected) { return; }
    var id = selected;
    replyText.disabled = true;
    api("POST", "/api/console/conversations/" + id + "/reply", { text: text }).then(function (data) {
      replyText.value = "";
      status("");
      if (data.message && selected === id) { appendLine(data.message); }
    }).catch(function (error) { status("Not sent: " + error.message); })
      .then(function () { replyText.disabled = false; replyText.focus(); });
  });

  $("order-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var box = $("order-result");
    box.textContent = "";
    api("GET", "/api/console/orders/" + encodeURIComponent($("order-id").value.trim())).then(function (order) {
      var dl = el("dl");
      [["Order", order.number], ["Status", order.status], ["Total", order.total], ["Customer", order.customer_name + " <" + order.customer_email + ">"],
        ["Placed", order.created_at], ["Carrier", order.carrier || "—"], ["Tracking", order.tracking_number || "—"],
        ["Estimated delivery", order.estimated_delivery || "—"]].forEach(function (row) {
        dl.appendChild(el("dt", {}, row[0])); dl.appendChild(el("dd", {}, row[1]));
      });
      box.appendChild(dl);
      var ul = el("ul");
      (order.lines || []).forEach(function (line) { ul.appendChild(el("li", {}, line.quantity + " × " + line.title)); });
      box.appendChild(ul);
    }).catch(function (error) { box.appendChild(el("p", { "class": "error" }, error.message)); });
  });

  // ---- tabs -----------------------------------------------------------------------------------------
  document.querySelectorAll(".tabs button").forEach(function (tab) {
    tab.addEventListener("click", function () {
      var name = tab.getAttribute("data-tab");
      document.querySelectorAll(".tabs button").forEach(function (t) { t.setAttribute("aria-selected", t === tab ? "true" : "false"); });
      document.querySelectorAll("[data-panel]").forEach(function (p) { p.hidden = p.getAttribute("data-panel") !== name; });
      if (name === "closed") { loadClosed(); }
      if (name === "tickets") { loadTickets(); }
      if (name === "queue") { loadQueue(); }
    });
  });

  // ---- live socket ----------------------------------------------------------------------------------
  var backoff = 500;
  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + window.location.host + "/api/console/ws");
    var conn = $("connection");
    liveSocket = socket;
    socket.onopen = function () {
      backoff = 500;
      emit("live", true);
      conn.textContent = "live"; conn.classList.add("live");
      document.body.setAttribute("data-live", "true");
      loadQueue();
      if (selected && selectedKind === "conv") { openConversation(selected); }
    };
    socket.onmessage = function (event) {
      var data;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      emit("frame", data);
      if (data.type === "queue" || data.type === "presence") { loadQueue(); }
      if (data.type === "tickets") { loadTickets(); }
      if (data.type === "mood") {  // the queue's order and badges, and the open conversation's trend
        loadQueue();
        if (data.handoff_id === selected && selectedKind === "conv") { refreshMood(selected); }
      }
      if (data.type === "confirmed") {  // Rasa's tracker has the line the edge feed showed
        var line = document.querySelector('#transcript [data-message-id="' + Number(data.message_id) + '"]');
        if (line) {
          line.classList.remove("unconfirmed"); line.removeAttribute("title");
          if (typeof data.text === "string") { line.querySelector(".text").textContent = data.text; }
        }
      }
      if (data.type === "message") {
        if (data.handoff_id === selected && selectedKind === "conv") { appendLine(data.message); }
        else { unread[data.handoff_id] = true; renderQueue(); }
      }
    };
    socket.onclose = function () {
      emit("live", false);
      conn.textContent = "reconnecting…"; conn.classList.remove("live");
      document.body.setAttribute("data-live", "false");
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 8000);
    };
    setInterval(function () { if (socket.readyState === 1) { socket.send("ping"); } }, 25000);
  }

  setInterval(function () {  // waiting times tick without rebuilding the list (keeps keyboard focus)
    var now = Date.now() / 1000 - clockSkew;
    document.querySelectorAll("[data-created]").forEach(function (meta) {
      meta.textContent = "waiting " + ago(now - Number(meta.getAttribute("data-created"))) + " · " + meta.getAttribute("data-reason");
    });
  }, 1000);
  document.addEventListener("DOMContentLoaded", function () {  // after every feature script registered
    loadQueue();
    connect();
  });
})();
