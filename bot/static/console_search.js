/* ShopDesk console: search over closed conversations and tickets (issue 17, docs/console/search.md).
 * Fills #panel-search with a labelled search box, a kind filter and the results; a result opens the closed
 * conversation (ShopDeskConsole.openConversation) or the ticket (openTicket) with its transcript. The service
 * (GET /api/console/search) returns each snippet as text plus [start, end) code-point ranges of the matches;
 * they are drawn as text nodes and <mark> elements: every text goes through textContent, never innerHTML.
 */
(function () {
  "use strict";

  var C = window.ShopDeskConsole;
  var DEBOUNCE_MS = 350;
  var MIN_CHARS = 2;
  var ROLES = { shopper: "Shopper", bot: "Assistant", agent: "Agent", notice: "Notice", message: "Message",
    customer: "Customer", orders: "Orders" };
  var seq = 0;          // only the newest request's answer is drawn
  var timer = null;
  var openedKey = null; // "conversation:H-…" of the result shown in the middle

  function el(tag, attrs, text) { return C.el(tag, attrs, text); }

  // the snippet's text with its matches in <mark> (offsets are Unicode code points, as the service counts)
  function snippetNode(snippet) {
    var p = el("p", { "class": "search-snippet" });
    var who = ROLES[snippet.role];
    if (who) { p.appendChild(el("span", { "class": "who" }, who + ": ")); }
    var chars = Array.from(snippet.text || "");
    var at = 0;
    (snippet.marks || []).forEach(function (range) {
      var start = Math.max(at, range[0]), end = Math.min(chars.length, range[1]);
      if (end <= start) { return; }
      if (start > at) { p.appendChild(document.createTextNode(chars.slice(at, start).join(""))); }
      p.appendChild(el("mark", {}, chars.slice(start, end).join("")));
      at = end;
    });
    if (at < chars.length) { p.appendChild(document.createTextNode(chars.slice(at).join(""))); }
    return p;
  }

  function customerText(result) {
    var c = result.customer || {};
    if (c.name && c.email) { return c.name + " <" + c.email + ">"; }
    return c.name || c.email || "Guest shopper";
  }

  function resultItem(result) {
    var key = result.kind + ":" + result.id;
    var li = el("li");
    // no aria-label: a screen reader reads what is shown (kind, customer, when, outcome, the snippet)
    var button = el("button", { type: "button", "class": "search-hit", "data-kind": result.kind, "data-id": result.id });
    button.appendChild(el("span", { "class": "search-kind search-kind-" + result.kind },
      result.kind === "ticket" ? "Ticket" : "Conversation"));
    button.appendChild(el("span", { "class": "search-customer" }, customerText(result)));
    var outcome = result.outcome.text + (result.outcome.csat ? " · CSAT " + result.outcome.csat + "/5" : "");
    var when = new Date(result.when * 1000).toLocaleString();
    button.appendChild(el("span", { "class": "conv-meta search-outcome" }, when + " · " + outcome));
    button.appendChild(snippetNode(result.snippet));
    if (key === openedKey) { button.classList.add("selected"); }
    button.addEventListener("click", function () {
      if (result.kind === "ticket") { C.openTicket(result.id); } else { C.openConversation(result.id); }
    });
    li.appendChild(button);
    return li;
  }

  function say(text) { document.getElementById("search-status").textContent = text; }

  function run() {
    var q = document.getElementById("search-q").value.trim();
    var kind = document.getElementById("search-kind").value;
    var list = document.getElementById("search-results");
    var mine = ++seq;
    if (Array.from(q.replace(/\s+/g, "")).length < MIN_CHARS) {
      list.textContent = "";
      say(q ? "Type at least " + MIN_CHARS + " characters." : "");
      return Promise.resolve();
    }
    list.setAttribute("aria-busy", "true");
    say("Searching…");
    var path = "/api/console/search?q=" + encodeURIComponent(q) + "&kind=" + encodeURIComponent(kind);
    return C.api("GET", path).then(function (data) {
      if (mine !== seq) { return; }
      list.textContent = "";
      list.setAttribute("data-query", q);  // what the list answers
      data.results.forEach(function (result) { list.appendChild(resultItem(result)); });
      var what = data.matched_by === "order" ? "order " + data.key
        : data.matched_by === "email" ? "customer " + data.key : "“" + data.query + "”";
      var n = data.results.length;
      say(n ? n + (n === 1 ? " result" : " results") + " for " + what : "Nothing closed matches " + what + ".");
    }).catch(function (error) {
      if (mine !== seq) { return; }
      list.textContent = "";
      list.setAttribute("data-query", q);
      say("Search failed: " + error.message);
    }).then(function () { if (mine === seq) { list.setAttribute("aria-busy", "false"); } });
  }

  function build() {
    var panel = document.getElementById("panel-search");
    if (!panel) { return; }
    var form = el("form", { id: "search-form", "class": "search-form", role: "search" });
    form.appendChild(el("label", { "for": "search-q" }, "Search closed conversations and tickets"));
    var input = el("input", { id: "search-q", type: "search", maxlength: "200", autocomplete: "off",
      placeholder: "Order number, customer name or email, words", "aria-describedby": "search-help" });
    form.appendChild(input);
    form.appendChild(el("label", { "for": "search-kind" }, "Show"));
    var kind = el("select", { id: "search-kind" });
    [["all", "Conversations and tickets"], ["conversation", "Conversations"], ["ticket", "Tickets"]].forEach(function (o) {
      kind.appendChild(el("option", { value: o[0] }, o[1]));
    });
    form.appendChild(kind);
    form.appendChild(el("button", { type: "submit" }, "Search"));
    form.appendChild(el("p", { id: "search-help", "class": "conv-meta" },
      "SD-100042, 100042, ada@example.com, a name, or words (all must match; Chinese too)."));
    panel.appendChild(form);
    panel.appendChild(el("p", { id: "search-status", "class": "conv-meta", role: "status", "aria-live": "polite" }));
    panel.appendChild(el("ul", { id: "search-results", "class": "conv-list search-results",
      "aria-label": "Search results", "aria-busy": "false" }));

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      clearTimeout(timer);
      run();
    });
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(run, DEBOUNCE_MS);
    });
    kind.addEventListener("change", function () { if (input.value.trim()) { run(); } });
    var tab = document.getElementById("tab-search");
    if (tab) { tab.addEventListener("click", function () { setTimeout(function () { input.focus(); }, 0); }); }
  }

  // whatever opened it (a result, another list), the open conversation or ticket is the marked result
  function opened(key) {
    openedKey = key;
    document.querySelectorAll("#search-results .search-hit").forEach(function (b) {
      b.classList.toggle("selected", b.getAttribute("data-kind") + ":" + b.getAttribute("data-id") === key);
    });
  }
  C.on("conversation", function (conv) { opened("conversation:" + conv.id); });
  C.on("ticket", function (ticket) { opened("ticket:" + ticket.id); });

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", build); } else { build(); }
})();
