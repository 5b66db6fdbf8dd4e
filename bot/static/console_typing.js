/* ShopDesk console: typing indicators both ways (docs/console/typing.md); registers with window.ShopDeskConsole.
 *
 * - The agent's side: while the agent types into #reply-text for a conversation they own (active, theirs), the
 *   console sends {"type": "typing", "handoff_id", "typing": true} over its socket at most once per THROTTLE_MS,
 *   {"typing": false} after IDLE_MS without a key, when the box is emptied, on send and on switching away. Never
 *   the draft: the frame has no other field.
 * - The shopper's side: the service's {"type": "typing", "handoff_id", "typing"} frames (the owner's consoles for
 *   an active conversation, every console while it is queued) show "The shopper is typing…" in #typing-indicator
 *   for the open conversation only, and a "typing…" mark on that conversation in the lists. Each goes on false,
 *   after EXPIRE_MS without a refresh (a closed tab) and when the shopper's message arrives.
 */
(function () {
  "use strict";

  var C = window.ShopDeskConsole;
  var THROTTLE_MS = 2000;
  var IDLE_MS = 4000;
  var EXPIRE_MS = (function () {  // ?typing_expire_s= overrides the 6 s (tests, demos)
    var fromQuery = Number(new URLSearchParams(window.location.search).get("typing_expire_s"));
    return fromQuery > 0 ? fromQuery * 1000 : 6000;
  })();
  var SHOPPER_TYPING = "The shopper is typing\u2026";

  var indicator = document.getElementById("typing-indicator");
  var replyText = document.getElementById("reply-text");
  var open = null;        // the open conversation's JSON (GET /api/console/conversations/{id})
  var sentFor = null;     // the handoff the last "typing: true" went to, until its "false"
  var lastTrueAt = 0;
  var idleTimer = null;
  var typing = {};        // handoff id -> its expiry timer, while the shopper types

  // ---- the agent typing -----------------------------------------------------------------------------------
  function mine() {
    return open !== null && open.status === "active" && open.mine === true && C.selected() === open.id;
  }
  function stop() {
    clearTimeout(idleTimer);
    if (sentFor !== null) {
      C.send({ type: "typing", handoff_id: sentFor, typing: false });
      sentFor = null;
    }
  }
  replyText.addEventListener("input", function () {
    if (!mine()) { stop(); return; }
    if (!replyText.value.trim()) { stop(); return; }
    var now = Date.now();
    if ((sentFor !== open.id || now - lastTrueAt >= THROTTLE_MS) &&
        C.send({ type: "typing", handoff_id: open.id, typing: true })) {
      sentFor = open.id;
      lastTrueAt = now;
    }
    clearTimeout(idleTimer);
    idleTimer = setTimeout(stop, IDLE_MS);
  });
  document.getElementById("reply-form").addEventListener("submit", stop);

  // ---- the shopper typing ---------------------------------------------------------------------------------
  function render() {
    var selected = C.selected();
    var on = selected !== null && typing.hasOwnProperty(selected);
    if (indicator.textContent !== (on ? SHOPPER_TYPING : "")) { indicator.textContent = on ? SHOPPER_TYPING : ""; }
    indicator.hidden = !on;
    document.querySelectorAll(".conv-list button[data-id]").forEach(function (button) {
      var mark = button.querySelector(".typing-mark");
      var shopperTyping = typing.hasOwnProperty(button.getAttribute("data-id"));
      if (shopperTyping && !mark) {
        button.appendChild(C.el("span", { "class": "typing-mark" }, "typing\u2026"));
      } else if (!shopperTyping && mark) {
        mark.remove();
      }
    });
  }
  function setTyping(id, on) {
    clearTimeout(typing[id]);
    if (on) {
      typing[id] = setTimeout(function () { setTyping(id, false); }, EXPIRE_MS);
    } else {
      delete typing[id];
    }
    render();
  }

  C.on("frame", function (frame) {
    if (frame.type === "typing" && typeof frame.handoff_id === "string") {
      setTyping(frame.handoff_id, frame.typing === true);
    } else if (frame.type === "message" && frame.message && frame.message.role === "shopper") {
      setTyping(frame.handoff_id, false);
    }
  });
  C.on("conversation", function (conv) {
    if (sentFor !== null && (sentFor !== conv.id || conv.status !== "active")) { stop(); }
    open = conv;
    render();
  });
  C.on("ticket", function () { stop(); open = null; render(); });
  C.on("queue", render);
  C.on("live", function (up) {
    if (!up) { clearTimeout(idleTimer); sentFor = null; }  // the service tells nobody without a socket
  });
})();
