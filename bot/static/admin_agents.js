/* Agent management (/console/admin/agents): the list with a role select and a disable / enable button per
 * agent, and the form that adds an agent. Every change goes to /console/api/admin/agents with the CSRF header;
 * the server's answer (a field error, "the last enabled admin", a duplicate email) is shown as it is, as text.
 */
(function () {
  "use strict";

  var api = window.ShopDeskApi;  // GET/POST/... JSON with the CSRF header (shopdesk_api.js)
  var me = document.querySelector('meta[name="agent-email"]').content;
  var FIELDS = ["email", "name", "role", "password"];

  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }
  function say(text, isError) {
    var box = $("admin-status");
    box.textContent = text || "";
    box.classList.toggle("error", Boolean(isError));
  }

  function change(agent, body, done) {
    api("PATCH", "/console/api/admin/agents/" + encodeURIComponent(agent.email), body).then(function (record) {
      say(record.name + ": " + (record.disabled ? "disabled" : "enabled") + ", role " + record.role + ".");
      return load(done);
    }).catch(function (error) {
      var fields = Object.keys(error.fields || {}).map(function (k) { return error.fields[k]; });
      say("Not changed: " + (fields.length ? fields.join("; ") : error.message), true);
      load(done);
    });
  }

  function row(agent) {
    var self = agent.email === me;
    var tr = el("tr", { "data-email": agent.email, "class": agent.disabled ? "disabled" : "" });
    tr.appendChild(el("td", {}, agent.name + (self ? " (you)" : "")));
    tr.appendChild(el("td", {}, agent.email));

    var roleCell = el("td");
    var select = el("select", { "aria-label": "Role of " + agent.name, "data-role-of": agent.email });
    [["agent", "Agent"], ["admin", "Admin"]].forEach(function (pair) {
      var option = el("option", { value: pair[0] }, pair[1]);
      if (agent.role === pair[0]) { option.selected = true; }
      select.appendChild(option);
    });
    if (self) { select.disabled = true; select.title = "You cannot change your own role"; }
    select.addEventListener("change", function () {
      change(agent, { role: select.value }, function () { focusIn(agent.email, "select"); });
    });
    roleCell.appendChild(select);
    tr.appendChild(roleCell);

    var account = el("td");
    account.appendChild(el("span", { "class": "account-state" }, agent.disabled ? "disabled " : "enabled "));
    var toggle = el("button", {
      type: "button", "data-toggle-of": agent.email,
      "aria-label": (agent.disabled ? "Enable " : "Disable ") + agent.name
    }, agent.disabled ? "Enable" : "Disable");
    if (self) { toggle.disabled = true; toggle.title = "You cannot disable yourself"; }
    toggle.addEventListener("click", function () {
      change(agent, { disabled: !agent.disabled }, function () { focusIn(agent.email, "button"); });
    });
    account.appendChild(toggle);
    tr.appendChild(account);
    tr.appendChild(el("td", {}, agent.source === "config" ? "configuration" : "added here"));
    return tr;
  }

  function focusIn(email, tag) {  // keyboard users keep their place after the list is redrawn
    var found = Array.prototype.filter.call(document.querySelectorAll("#agents-body tr"), function (tr) {
      return tr.getAttribute("data-email") === email;
    })[0];
    var control = found && found.querySelector(tag);
    if (control && !control.disabled) { control.focus(); }
  }

  function load(done) {
    return api("GET", "/console/api/admin/agents").then(function (data) {
      var body = $("agents-body");
      body.textContent = "";
      data.agents.forEach(function (agent) { body.appendChild(row(agent)); });
      $("agents-table").setAttribute("aria-busy", "false");
      if (done) { done(); }
    }).catch(function (error) { say(error.message, true); });
  }

  $("add-agent").addEventListener("submit", function (event) {
    event.preventDefault();
    FIELDS.forEach(function (name) { $("error-" + name).textContent = ""; });
    var body = {};
    FIELDS.forEach(function (name) { body[name] = $("new-" + name).value; });
    api("POST", "/console/api/admin/agents", body).then(function (record) {
      $("add-agent").reset();
      say("Added " + record.name + " <" + record.email + "> as " + record.role + ".");
      return load();
    }).catch(function (error) {
      var first = null;
      Object.keys(error.fields || {}).forEach(function (name) {
        if ($("error-" + name)) {
          $("error-" + name).textContent = error.fields[name];
          $("new-" + name).setAttribute("aria-invalid", "true");
          first = first || $("new-" + name);
        }
      });
      say("Not added: " + (first ? "see the fields marked below" : error.message), true);
      if (first) { first.focus(); }
    });
  });
  FIELDS.forEach(function (name) {
    $("new-" + name).addEventListener("input", function () { $("new-" + name).removeAttribute("aria-invalid"); });
  });

  load();
})();
