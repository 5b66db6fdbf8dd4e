/* ShopDesk widget: typing indicators while a person has the conversation or it waits for one (docs/console/typing.md).
 * Loaded before widget.js, which calls window.ShopDeskTyping.create(w) once its DOM exists and then tells it what
 * happens: modeChanged(mode) ("bot", "queued", "agent"), botSaid(message) on every live bot_uttered frame and
 * shopperSent() when the shopper sends a message.
 *
 * - A websocket to this page's service (/widget/ws) is open only while the mode is "queued" or "agent" (nobody
 *   else would be told); its first frame is the hello with the server-signed session id.
 * - Up: {"type": "typing", "typing": true} at most once per THROTTLE_MS while the shopper types (input events,
 *   IME compositions included), {"typing": false} after IDLE_MS without one, when the box is emptied and on send.
 *   Never the draft: the frame has no other field.
 * - Down: {"type": "typing", "typing": bool, "name": "<agent first name>"}: the WIDGET string agent_typing
 *   with that name, in the widget's language, under the conversation; it goes on false, after EXPIRE_MS without
 *   a refresh (the agent's console closed), when the agent's message arrives and when the handoff ends.
 */
(function () {
  "use strict";

  var THROTTLE_MS = 2000;
  var IDLE_MS = 4000;
  var EXPIRE_MS = (function () {  // ?typing_expire_s= overrides the 6 s (tests, demos)
    var fromQuery = Number(new URLSearchParams(window.location.search).get("typing_expire_s"));
    return fromQuery > 0 ? fromQuery * 1000 : 6000;
  })();
  var REFUSED = 4403;  // the service did not sign this session id: asking again would not help

  /* `w`: what widget.js shares — root, form, input, t, el, sessionId(). */
  function create(w) {
    var wanted = false;         // a person is on the conversation or it waits for one
    var socket = null;
    var ready = false;          // the service accepted the hello
    var backoff = 1000;
    var reconnectTimer = null;
    var refusedSession = null;
    var sentTyping = false;
    var lastTrueAt = 0;
    var idleTimer = null;
    var expireTimer = null;

    var indicator = w.el("p", { "class": "sd-agent-typing", role: "status", "aria-live": "polite", hidden: "" });
    w.form.parentNode.insertBefore(indicator, w.form);

    function show(name) {
      var text = w.t("agent_typing", { name: name || w.t("agent") });
      if (indicator.textContent !== text) { indicator.textContent = text; }
      indicator.removeAttribute("hidden");
      w.root.setAttribute("data-agent-typing", "true");
      clearTimeout(expireTimer);
      expireTimer = setTimeout(hide, EXPIRE_MS);
    }
    function hide() {
      clearTimeout(expireTimer);
      indicator.textContent = "";
      indicator.setAttribute("hidden", "");
      w.root.setAttribute("data-agent-typing", "false");
    }

    function send(typing) {
      if (!socket || !ready || socket.readyState !== 1) { return false; }
      socket.send(JSON.stringify({ type: "typing", typing: typing }));
      return true;
    }
    function stopTyping() {
      clearTimeout(idleTimer);
      if (sentTyping) { sentTyping = false; send(false); }
    }
    w.input.addEventListener("input", function () {
      if (!wanted) { return; }
      if (!w.input.value.trim()) { stopTyping(); return; }
      var now = Date.now();
      if ((!sentTyping || now - lastTrueAt >= THROTTLE_MS) && send(true)) { sentTyping = true; lastTrueAt = now; }
      clearTimeout(idleTimer);
      idleTimer = setTimeout(stopTyping, IDLE_MS);
    });

    function connect() {
      var sessionId = w.sessionId();
      if (!wanted || socket || !sessionId || sessionId === refusedSession) { return; }
      var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
      var s = new WebSocket(scheme + window.location.host + "/widget/ws");
      socket = s;
      s.onopen = function () { s.send(JSON.stringify({ type: "hello", session_id: sessionId })); };
      s.onmessage = function (event) {
        var data;
        try { data = JSON.parse(event.data); } catch (e) { return; }
        if (!data || typeof data !== "object") { return; }
        if (data.type === "ready") {
          ready = true;
          backoff = 1000;
          w.root.setAttribute("data-typing-socket", "ready");
        } else if (data.type === "typing") {
          if (data.typing === true) { show(typeof data.name === "string" ? data.name : null); } else { hide(); }
        }
      };
      s.onclose = function (event) {
        if (socket !== s) { return; }
        socket = null;
        ready = false;
        sentTyping = false;
        w.root.setAttribute("data-typing-socket", "closed");
        if (event.code === REFUSED) { refusedSession = sessionId; return; }
        if (wanted) {
          reconnectTimer = setTimeout(connect, backoff);
          backoff = Math.min(backoff * 2, 30000);
        }
      };
    }
    function disconnect() {
      clearTimeout(reconnectTimer);
      stopTyping();
      hide();
      if (socket) {
        var s = socket;
        socket = null;
        ready = false;
        s.close(1000);
        w.root.setAttribute("data-typing-socket", "closed");
      }
    }

    return {
      modeChanged: function (mode) {
        var next = mode === "queued" || mode === "agent";
        if (next === wanted) { return; }
        wanted = next;
        if (wanted) { connect(); } else { disconnect(); }
      },
      botSaid: function (message) { if (message && message.role === "agent") { hide(); } },
      shopperSent: function () { stopTyping(); }
    };
  }

  window.ShopDeskTyping = { create: create };
})();
