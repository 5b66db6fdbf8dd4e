/* ShopDesk console: canned replies (docs/console/canned.md). Typing "/" and letters at the start of the reply
 * box opens #canned-suggestions (a listbox the textarea controls: aria-autocomplete="list",
 * aria-activedescendant): ArrowDown/ArrowUp choose, Enter or Tab inserts, Escape closes, a click inserts. The
 * chosen reply is rendered by the service for the open conversation (its language, variables from its context)
 * and replaces the "/shortcut" in the box, where the agent can edit it before sending it as usual. Nothing
 * happens while an IME composes, and Enter-to-send is untouched while the list is closed. Text only
 * (textContent, textarea.value), never HTML. */
(function () {
  "use strict";

  var SDC = window.ShopDeskConsole;
  var TOKEN = /^\/([a-z0-9_-]{0,32})$/;
  var MAX_SHOWN = 8;
  var LANGUAGE_NAMES = { en: "English", zh: "Chinese" };
  var list, box, form;
  var replies = null;     // the list from /api/console/canned (reloaded after a "canned" frame)
  var loading = null;
  var shown = [];         // the replies in the open listbox
  var active = -1;
  var language = "en";    // the open conversation's language
  var composing = false;
  var token = null;       // the "/xyz" the list was opened for

  function stylesheet() {
    if (document.querySelector('link[href="/static/console_canned.css"]')) { return; }
    document.head.appendChild(SDC.el("link", { rel: "stylesheet", href: "/static/console_canned.css" }));
  }

  function load() {
    if (replies) { return Promise.resolve(replies); }
    if (!loading) {
      loading = SDC.api("GET", "/api/console/canned").then(function (data) {
        replies = data.replies; loading = null; return replies;
      }).catch(function (error) { loading = null; SDC.status("Canned replies: " + error.message); return []; });
    }
    return loading;
  }

  function matching(query) {  // as the service's ?q= (bot/canned_api.py _matches)
    function rank(r) {
      if (r.shortcut.indexOf(query) === 0) { return 0; }
      if (r.shortcut.indexOf(query) > 0) { return 1; }
      return r.title.toLowerCase().split(/\s+/).some(function (w) { return w.indexOf(query) === 0; }) ? 2 : 3;
    }
    return (replies || []).map(function (r) { return { reply: r, rank: rank(r) }; })
      .filter(function (x) { return x.rank < 3; })
      .sort(function (a, b) { return a.rank - b.rank || (a.reply.shortcut < b.reply.shortcut ? -1 : 1); })
      .map(function (x) { return x.reply; })
      .slice(0, MAX_SHOWN);
  }

  function isOpen() { return !list.hidden && shown.length > 0; }

  function close() {
    list.hidden = true;
    list.textContent = "";
    shown = []; active = -1; token = null;
    box.removeAttribute("aria-activedescendant");
  }

  function highlight(index) {
    active = index;
    Array.prototype.forEach.call(list.querySelectorAll("[role='option']"), function (li, i) {
      li.setAttribute("aria-selected", i === index ? "true" : "false");
    });
    var current = list.querySelector("#canned-option-" + index);
    if (current) {
      box.setAttribute("aria-activedescendant", current.id);
      if (current.scrollIntoView) { current.scrollIntoView({ block: "nearest" }); }
    } else {
      box.removeAttribute("aria-activedescendant");
    }
  }

  function draw(query) {
    list.textContent = "";
    shown = matching(query);
    shown.forEach(function (reply, i) {
      var li = SDC.el("li", {
        id: "canned-option-" + i, role: "option", "aria-selected": "false", "class": "canned-option",
        "data-shortcut": reply.shortcut
      });
      li.appendChild(SDC.el("span", { "class": "canned-shortcut" }, "/" + reply.shortcut));
      li.appendChild(SDC.el("span", { "class": "canned-title" }, reply.title));
      var label = "/" + reply.shortcut + ", " + reply.title;
      if (reply.languages.indexOf(language) < 0) {  // no text in the conversation's language: the other one
        var other = reply.languages[0];
        li.appendChild(SDC.el("span", { "class": "canned-only", "data-language": other }, LANGUAGE_NAMES[other] + " only"));
        label += " (" + LANGUAGE_NAMES[other] + " only)";
      }
      li.setAttribute("aria-label", label);
      li.addEventListener("mousedown", function (event) { event.preventDefault(); });  // keep the box focused
      li.addEventListener("click", function () { choose(i); });
      list.appendChild(li);
    });
    if (!shown.length) {
      list.appendChild(SDC.el("li", { "class": "canned-empty", role: "option", "aria-disabled": "true", "aria-selected": "false" },
        "No canned reply matches /" + query));
    }
    list.hidden = false;
    highlight(shown.length ? 0 : -1);
  }

  function update() {
    if (composing) { return; }
    var match = TOKEN.exec(box.value);
    if (!match || box.selectionStart !== box.value.length) { close(); return; }
    token = box.value;
    var query = match[1];
    load().then(function () {
      if (token === box.value && !composing) { draw(query); }  // still what the agent typed
    });
  }

  function choose(index) {
    var reply = shown[index];
    var id = SDC.selected();
    var typed = box.value;
    close();
    if (!reply || !id) { return; }
    var path = "/api/console/conversations/" + encodeURIComponent(id) + "/canned/" + encodeURIComponent(reply.shortcut);
    SDC.api("GET", path).then(function (rendered) {
      if (SDC.selected() !== id) { return; }
      // the "/shortcut" gives way to the text (whatever the agent typed after it meanwhile stays)
      var rest = box.value.indexOf(typed) === 0 ? box.value.slice(typed.length) : (box.value ? " " + box.value : "");
      box.value = rendered.text + rest;
      box.focus();
      box.setSelectionRange(rendered.text.length, rendered.text.length);
      box.dispatchEvent(new Event("input", { bubbles: true }));
      SDC.status(rendered.fallback
        ? LANGUAGE_NAMES[rendered.language] + " only: /" + rendered.shortcut + " has no " + LANGUAGE_NAMES[language] +
          " text, so the " + LANGUAGE_NAMES[rendered.language] + " one was inserted."
        : "");
    }).catch(function (error) { SDC.status("Canned reply not inserted: " + error.message); box.focus(); });
  }

  function keydown(event) {  // on the form, capture phase: before console.js's Enter-to-send on the textarea
    if (event.target !== box || !isOpen() || composing || event.isComposing || event.keyCode === 229) { return; }
    var key = event.key;
    if (key === "ArrowDown" || key === "ArrowUp") {
      var step = key === "ArrowDown" ? 1 : -1;
      highlight((active + step + shown.length) % shown.length);
    } else if ((key === "Enter" && !event.shiftKey) || (key === "Tab" && !event.shiftKey)) {
      choose(active < 0 ? 0 : active);
    } else if (key === "Escape") {
      close();
    } else {
      return;
    }
    event.preventDefault();
    event.stopPropagation();
  }

  function start() {
    list = document.getElementById("canned-suggestions");
    box = document.getElementById("reply-text");
    form = document.getElementById("reply-form");
    if (!list || !box || !form) { return; }
    stylesheet();
    box.setAttribute("aria-autocomplete", "list");
    box.setAttribute("aria-controls", "canned-suggestions");
    if (!box.hasAttribute("aria-description")) {
      box.setAttribute("aria-description",
        "Type / and a shortcut for a canned reply; arrow keys choose, Enter or Tab inserts, Escape closes.");
    }
    box.addEventListener("compositionstart", function () { composing = true; });
    box.addEventListener("compositionend", function () { composing = false; update(); });
    box.addEventListener("input", update);
    box.addEventListener("blur", function () { setTimeout(function () { if (document.activeElement !== box) { close(); } }, 150); });
    form.addEventListener("keydown", keydown, true);
    form.addEventListener("submit", close);
  }

  SDC.on("conversation", function (conv) { language = conv.language === "zh" ? "zh" : "en"; if (list) { close(); } });
  SDC.on("queue", function (queue) {  // the open conversation's language may change (the tracker sync)
    var id = SDC.selected();
    var open = queue.queued.concat(queue.active).filter(function (item) { return item.id === id; })[0];
    if (open) { language = open.language === "zh" ? "zh" : "en"; }
  });
  SDC.on("ticket", function () { if (list) { close(); } });
  SDC.on("frame", function (frame) { if (frame.type === "canned") { replies = null; } });
  document.addEventListener("DOMContentLoaded", start);
})();
