/* ShopDesk console, team slice (docs/console/team.md): the agent's status and the team list (header,
 * #agent-status-slot), transfer to another agent or back to the queue (#conv-tools), internal notes (#notes-body).
 * Registers with window.ShopDeskConsole; every text goes through textContent (a note with HTML shows as text).
 * Live: "note" frames add notes to the open conversation, "agents" frames redraw statuses, a "transfer" frame
 * tells this agent a conversation was handed to them.
 */
(function () {
  "use strict";

  var C = window.ShopDeskConsole;
  var el = C.el;
  var STATUSES = [["online", "Online"], ["away", "Away"], ["offline", "Offline"]];
  var agents = [];       // GET /api/console/agents
  var current = null;    // the open conversation's JSON (null: none, or a ticket)
  var shownNotes = {};

  function $(id) { return document.getElementById(id); }
  function when(ts) { return new Date(ts * 1000).toLocaleString(); }

  var style = el("link", { rel: "stylesheet", href: "/static/console_team.css" });
  document.head.appendChild(style);

  // ---- status (header) --------------------------------------------------------------------------------
  var slot = $("agent-status-slot");
  var select = el("select", { id: "agent-status", "aria-describedby": "agent-status-hint" });
  STATUSES.forEach(function (s) { select.appendChild(el("option", { value: s[0] }, s[1])); });
  var team = el("details", { id: "team", "class": "team", "aria-label": "Team: who is online and how busy" });
  team.appendChild(el("summary", {}, "Team"));
  var teamList = el("ul", { id: "team-list", "aria-label": "Agents and their status" });
  team.appendChild(teamList);
  slot.appendChild(el("label", { "for": "agent-status" }, "Status"));
  slot.appendChild(select);
  slot.appendChild(el("span", { id: "agent-status-hint", "class": "sr-only" },
    "Offline returns your conversations to the queue"));
  slot.appendChild(team);

  select.addEventListener("change", function () {
    var chosen = select.value;
    C.api("POST", "/api/console/status", { status: chosen }).then(function (data) {
      var n = data.requeued.length;
      C.status("You are " + chosen + (n ? "; " + n + " conversation" + (n === 1 ? "" : "s") + " went back to the queue." : "."));
      if (n && current) { C.openConversation(current.id); }
      return loadAgents();
    }).catch(function (error) { C.status(error.message); loadAgents(); });
  });

  function loadAgents() {
    return C.api("GET", "/api/console/agents").then(function (data) {
      agents = data.agents;
      drawAgents();
      drawTools();
    }).catch(function (error) { C.status(error.message); });
  }

  function drawAgents() {
    teamList.textContent = "";
    var online = 0;
    agents.forEach(function (agent) {
      if (agent.email === C.me) { select.value = agent.status; }
      if (agent.status === "online") { online += 1; }
      var li = el("li", { "class": "team-agent status-" + agent.status, "data-email": agent.email, "data-status": agent.status });
      li.appendChild(el("span", { "class": "status-dot", "aria-hidden": "true" }));
      li.appendChild(el("span", { "class": "team-name" }, agent.name + (agent.email === C.me ? " (you)" : "")));
      li.appendChild(el("span", { "class": "team-meta" },
        agent.status + " · " + agent.active + " conversation" + (agent.active === 1 ? "" : "s")));
      teamList.appendChild(li);
    });
    team.querySelector("summary").textContent = "Team (" + online + " online)";
  }

  // ---- transfer (#conv-tools) -------------------------------------------------------------------------
  // The form is built once per open conversation (typing is never lost); the agents in it follow their status.
  var toolsFor = null;
  function drawTools() {
    var tools = $("conv-tools");
    var mine = current && current.status === "active" && current.mine;
    if (!mine) { tools.textContent = ""; toolsFor = null; return; }
    if (toolsFor !== current.id || !$("transfer-form")) { buildTransferForm(tools, current.id); }
    fillTargets($("transfer-to"));
  }

  function fillTargets(to) {
    var chosen = to.value;
    to.textContent = "";
    to.appendChild(el("option", { value: "queue" }, "Back to the queue"));
    agents.forEach(function (agent) {
      if (agent.email === C.me) { return; }
      var option = el("option", { value: agent.email }, agent.name + " (" + agent.status + ")");
      if (agent.status !== "online") { option.disabled = true; }
      to.appendChild(option);
    });
    var keep = Array.prototype.some.call(to.options, function (o) { return o.value === chosen && !o.disabled; });
    to.value = keep ? chosen : "queue";
  }

  function buildTransferForm(tools, id) {
    tools.textContent = "";
    toolsFor = id;
    var form = el("form", { id: "transfer-form", "class": "transfer-form", "aria-label": "Transfer this conversation" });
    var to = el("select", { id: "transfer-to" });
    var reason = el("input", { id: "transfer-reason", type: "text", maxlength: "200", required: "",
      placeholder: "Reason (required)", autocomplete: "off" });
    form.appendChild(el("label", { "for": "transfer-to" }, "Transfer to"));
    form.appendChild(to);
    form.appendChild(el("label", { "for": "transfer-reason", "class": "sr-only" }, "Reason for the transfer"));
    form.appendChild(reason);
    var button = el("button", { type: "submit", id: "transfer-button", "class": "secondary" }, "Transfer");
    form.appendChild(button);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var target = to.value;
      var label = to.options[to.selectedIndex].textContent.replace(/ \([a-z]+\)$/, "");
      button.disabled = true;
      C.api("POST", "/api/console/conversations/" + encodeURIComponent(id) + "/transfer",
        { to: target, reason: reason.value }).then(function () {
        C.status(target === "queue" ? "Returned to the queue." : "Transferred to " + label + ".");
        return Promise.all([C.openConversation(id), C.loadQueue()]);
      }).catch(function (error) { C.status("Not transferred: " + error.message); button.disabled = false; });
    });
    tools.appendChild(form);
  }

  // ---- notes (#notes-body) ----------------------------------------------------------------------------
  function noteItem(note) {
    var li = el("li", { "class": "note note-" + note.kind, "data-note-id": String(note.id) });
    var who = note.kind === "system" ? "System" : (note.author_name || note.author_email || "Agent");
    li.appendChild(el("span", { "class": "note-meta" }, who + " · " + when(note.created_at)));
    li.appendChild(el("p", { "class": "note-text" }, note.text));
    return li;
  }

  function addNote(note) {
    var list = $("notes-list");
    if (!list || shownNotes[note.id]) { return; }
    shownNotes[note.id] = true;
    var empty = list.querySelector(".notes-empty");
    if (empty) { empty.remove(); }
    list.appendChild(noteItem(note));
  }

  function drawNotes(conv, notes) {
    var body = $("notes-body");
    body.textContent = "";
    shownNotes = {};
    var list = el("ol", { id: "notes-list", "class": "notes-list", "aria-label": "Internal notes on this conversation", "aria-live": "polite" });
    list.appendChild(el("li", { "class": "notes-empty" }, "No notes yet."));
    body.appendChild(list);
    notes.forEach(addNote);
    var form = el("form", { id: "note-form", "class": "note-form", "aria-label": "New internal note" });
    var text = el("textarea", { id: "note-text", rows: "2", maxlength: "2000", placeholder: "Only agents see notes" });
    form.appendChild(el("label", { "for": "note-text" }, "Add an internal note"));
    form.appendChild(text);
    var add = el("button", { type: "submit", id: "note-add" }, "Add note");
    form.appendChild(add);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!text.value.trim()) { C.status("A note cannot be empty."); return; }
      add.disabled = true;  // one note per click, however impatient
      C.api("POST", "/api/console/conversations/" + encodeURIComponent(conv.id) + "/notes", { text: text.value })
        .then(function (note) { text.value = ""; C.status(""); addNote(note); })
        .catch(function (error) { C.status("Note not added: " + error.message); })
        .then(function () { add.disabled = false; });
    });
    body.appendChild(form);
  }

  C.on("conversation", function (conv) {
    current = conv;
    drawTools();
    C.api("GET", "/api/console/conversations/" + encodeURIComponent(conv.id) + "/notes").then(function (data) {
      if (current && current.id === conv.id) { drawNotes(conv, data.notes); }
    }).catch(function (error) { C.status(error.message); });
  });

  C.on("ticket", function () {
    current = null;
    drawTools();
    var body = $("notes-body");
    body.textContent = "";
    body.appendChild(el("p", {}, "Tickets have no internal notes."));
  });

  C.on("frame", function (frame) {
    if (frame.type === "note" && current && frame.handoff_id === current.id) { addNote(frame.note); }
    if (frame.type === "agents" || frame.type === "presence" || frame.type === "queue") { loadAgents(); }
    if (frame.type === "transfer") {
      C.status(frame.from + " transferred a conversation to you: " + frame.reason);
      if (!C.selected()) { C.openConversation(frame.handoff_id); }
    }
  });

  // the open conversation changed hands (transfer, back to the queue, its agent went offline): redraw it
  C.on("queue", function (data) {
    if (!current || current.status !== "active") { return; }
    var active = data.active.filter(function (item) { return item.id === current.id; })[0];
    if (!active || active.agent_email !== current.agent_email) { C.openConversation(current.id); }
  });

  C.on("live", function (up) { if (up) { loadAgents(); } });
})();
