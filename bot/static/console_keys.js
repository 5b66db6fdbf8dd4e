/* Keyboard-first console (docs/console/keyboard_roles.md): Alt+… shortcuts to claim the next conversation, move
 * between conversations, focus the reply box, hand back (after a confirmation the keyboard answers) and open
 * search; Ctrl/⌘+Enter sends the reply; "?" (outside text fields) or the "Keyboard shortcuts" button in the header
 * opens the list. Shortcuts match the physical key (event.code), so macOS Option (which types characters) works;
 * none is a single key while typing in a field, Escape closes the dialogs, and focus returns where it was.
 */
(function () {
  "use strict";

  var C = window.ShopDeskConsole;
  var lastListId = null;  // the conversation button that had focus, refocused after the list is redrawn

  function $(id) { return document.getElementById(id); }

  var SHORTCUTS = [
    { keys: "Alt+N", code: "KeyN", what: "Claim the next waiting conversation (the top of the queue)", run: claimNext },
    { keys: "Alt+J", code: "KeyJ", what: "Open the next conversation in the list", run: function () { move(1); } },
    { keys: "Alt+K", code: "KeyK", what: "Open the previous conversation in the list", run: function () { move(-1); } },
    { keys: "Alt+R", code: "KeyR", what: "Go to the reply box", run: focusReply },
    { keys: "Alt+L", code: "KeyL", what: "Hand the conversation back to the bot (asks first)", run: askHandBack },
    { keys: "Alt+/", code: "Slash", what: "Open search", run: openSearch },
    { keys: "Ctrl+Enter or \u2318+Enter", what: "Send the reply (in the reply box Enter sends too; Shift+Enter adds a line)" },
    { keys: "?", what: "Show these shortcuts (when not typing in a field)" },
    { keys: "Escape", what: "Close a dialog" }
  ];

  function editable(node) {
    if (!node || !node.tagName) { return false; }
    var tag = node.tagName.toLowerCase();
    return tag === "textarea" || tag === "select" || node.isContentEditable ||
      (tag === "input" && !/^(button|submit|reset|checkbox|radio)$/i.test(node.type || ""));
  }
  function anyDialogOpen() { return Boolean(document.querySelector("dialog[open]")); }

  // ---- the actions ------------------------------------------------------------------------------------
  function claimNext() {
    var next = C.queue().queued[0];
    if (!next) { C.status("Nobody is waiting."); return; }
    var who = next.customer_name || "Guest shopper";
    C.status("Claiming the conversation with " + who + "…");
    C.api("POST", "/api/console/conversations/" + encodeURIComponent(next.id) + "/claim").then(function () {
      C.status("You have the conversation with " + who + ". Alt+L hands it back.");
      return Promise.all([C.openConversation(next.id), C.loadQueue()]).then(focusReply);
    }).catch(function (error) {
      var taken = /\(claimed by (.+)\)$/.exec(error.message);  // the other agent won the race
      C.status(taken ? "Too late: " + taken[1] + " claimed the conversation with " + who + " first."
        : "Not claimed: " + error.message);
      C.loadQueue();
    });
  }

  function listButtons() {
    return Array.prototype.slice.call(
      document.querySelectorAll("[data-panel]:not([hidden]) .conv-list button"));
  }

  function move(delta) {
    var buttons = listButtons();
    if (!buttons.length) { C.status("No conversations in this list."); return; }
    var at = buttons.indexOf(document.activeElement);
    if (at < 0) { at = buttons.findIndex(function (b) { return b.classList.contains("selected"); }); }
    var to = at < 0 ? (delta > 0 ? 0 : buttons.length - 1) : Math.min(buttons.length - 1, Math.max(0, at + delta));
    if (to === at) { C.status(delta > 0 ? "That was the last conversation in the list." : "That was the first conversation in the list."); }
    buttons[to].focus();
    buttons[to].click();
  }

  function focusReply() {
    var form = $("reply-form");
    if (form && !form.hidden) { $("reply-text").focus(); return; }
    C.status("The reply box opens once you have claimed the conversation (Alt+N claims the next one).");
  }

  function sendReply() {
    var form = $("reply-form");
    if (!form || form.hidden) { C.status("Nothing to send: claim a conversation first."); return; }
    if (!$("reply-text").value.trim()) { $("reply-text").focus(); C.status("Write a reply first."); return; }
    form.requestSubmit();
  }

  function openSearch() {
    var tab = $("tab-search");
    if (!tab) { return; }
    tab.click();
    var field = document.querySelector("#panel-search input, #panel-search [tabindex], #panel-search button");
    (field || tab).focus();
  }

  // ---- dialogs ----------------------------------------------------------------------------------------
  function dialog(id, title) {
    var box = C.el("dialog", { id: id, "class": "keys-dialog", "aria-labelledby": id + "-title" });
    box.appendChild(C.el("h2", { id: id + "-title" }, title));
    var opener = null;
    box.addEventListener("close", function () {
      if (opener && document.contains(opener)) { opener.focus(); }
      opener = null;
    });
    box.openFrom = function (from) {
      opener = from && from !== document.body ? from : null;
      box.showModal();
    };
    $("header-tools").appendChild(box);
    return box;
  }

  var help = dialog("keys-help", "Keyboard shortcuts");
  var table = C.el("table", { "class": "keys-table", "aria-labelledby": "keys-help-title" });
  var head = C.el("tr");
  head.appendChild(C.el("th", { scope: "col" }, "Keys"));
  head.appendChild(C.el("th", { scope: "col" }, "What they do"));
  table.appendChild(C.el("thead")).appendChild(head);
  var tbody = table.appendChild(C.el("tbody"));
  SHORTCUTS.forEach(function (shortcut) {
    var tr = C.el("tr");
    tr.appendChild(C.el("td")).appendChild(C.el("kbd", {}, shortcut.keys));
    tr.appendChild(C.el("td", {}, shortcut.what));
    tbody.appendChild(tr);
  });
  help.appendChild(table);
  help.appendChild(C.el("p", { "class": "keys-note" },
    "On a Mac, Alt is the Option key. Tab and Shift+Tab move between controls; Enter or Space presses a button."));
  var closeHelp = C.el("button", { type: "button" }, "Close");
  closeHelp.addEventListener("click", function () { help.close(); });
  help.appendChild(closeHelp);

  var confirmBox = dialog("keys-confirm", "Hand back to the bot?");
  var confirmText = confirmBox.appendChild(C.el("p", { id: "keys-confirm-text" }));
  confirmBox.setAttribute("aria-describedby", "keys-confirm-text");
  confirmBox.setAttribute("role", "alertdialog");
  var confirmYes = C.el("button", { type: "button", id: "keys-confirm-yes" }, "Hand back");
  var confirmNo = C.el("button", { type: "button", id: "keys-confirm-no", "class": "secondary" }, "Cancel");
  confirmBox.appendChild(confirmYes);
  confirmBox.appendChild(confirmNo);
  confirmNo.addEventListener("click", function () { confirmBox.close(); C.status("Still yours: nothing was handed back."); });
  confirmYes.addEventListener("click", function () {
    var button = $("hand-back");
    confirmBox.close();
    if (!button) { return; }
    button.click();  // console.js hands back, then redraws the conversation and the queue
    var next = document.querySelector("#queued-list button") || $("tab-queue");
    if (next) { next.focus(); }
  });

  function askHandBack() {
    var button = $("hand-back");
    if (!button) { C.status("Nothing to hand back: open a conversation you have claimed."); return; }
    var header = document.querySelector("#conv-header p");
    confirmText.textContent = "The conversation" + (header ? " (" + header.textContent + ")" : "") +
      " goes back to the assistant; the shopper is told. Enter hands back, Escape cancels.";
    confirmBox.openFrom(document.activeElement);
    confirmYes.focus();
  }

  // ---- the header button, labels and focus styles -----------------------------------------------------
  var helpButton = C.el("button", {
    type: "button", id: "keys-help-button", "class": "keys-help-button", "aria-haspopup": "dialog",
    "aria-keyshortcuts": "Shift+?"
  }, "Keyboard shortcuts (?)");
  helpButton.addEventListener("click", function () { help.openFrom(helpButton); });
  $("header-tools").insertBefore(helpButton, $("header-tools").firstChild);

  var css = C.el("link", { rel: "stylesheet", href: "/static/console_keys.css" });
  document.head.appendChild(css);

  function hint(id, keys) { var node = $(id); if (node) { node.setAttribute("aria-keyshortcuts", keys); } }
  hint("reply-text", "Alt+R Control+Enter Meta+Enter");
  hint("tab-search", "Alt+/");
  C.on("conversation", function () { hint("hand-back", "Alt+L"); });
  C.on("queue", function () {  // the lists were redrawn: keep a keyboard user's place
    if (lastListId && (document.activeElement === document.body || !document.activeElement)) {
      var again = listButtons().filter(function (b) { return b.getAttribute("data-id") === lastListId; })[0];
      if (again) { again.focus(); }
    }
  });
  document.addEventListener("focusin", function (event) {
    var target = event.target;
    lastListId = target && target.closest && target.closest(".conv-list") ? target.getAttribute("data-id") : null;
  });

  // ---- the keys ---------------------------------------------------------------------------------------
  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.isComposing) { return; }
    if (anyDialogOpen()) { return; }  // a modal dialog: Tab, Enter, Escape only (the browser closes it on Escape)
    var inOtherField = editable(event.target) && event.target.id !== "reply-text";
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && !event.altKey && !inOtherField) {
      event.preventDefault();
      sendReply();
      return;
    }
    if (event.altKey && !event.ctrlKey && !event.metaKey && !event.shiftKey) {
      var shortcut = SHORTCUTS.filter(function (s) { return s.code && s.code === event.code; })[0];
      if (shortcut) {
        event.preventDefault();
        shortcut.run();
      }
      return;
    }
    if (event.key === "?" && !event.ctrlKey && !event.metaKey && !event.altKey && !editable(event.target)) {
      event.preventDefault();
      help.openFrom(document.activeElement);
    }
  });
})();
