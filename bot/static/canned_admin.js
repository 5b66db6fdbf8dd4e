/* ShopDesk admin page: canned replies (/console/admin/canned). Lists every reply, adds, edits and deletes them
 * through /api/console/admin/canned (CSRF header on every change). Every text goes through textContent. */
(function () {
  "use strict";

  var api = window.ShopDeskApi;  // GET/POST/... JSON with the CSRF header (shopdesk_api.js)
  var replies = [];
  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }
  function status(text) { $("canned-admin-status").textContent = text || ""; }

  function row(reply) {
    var tr = el("tr", { "data-shortcut": reply.shortcut, "data-id": String(reply.id) });
    tr.appendChild(el("td", { "class": "shortcut" }, "/" + reply.shortcut));
    tr.appendChild(el("td", { "class": "title" }, reply.title));
    tr.appendChild(el("td", { "class": "text-en", lang: "en" }, reply.en || "—"));
    tr.appendChild(el("td", { "class": "text-zh", lang: "zh-CN" }, reply.zh || "—"));
    tr.appendChild(el("td", { "class": "origin" },
      reply.origin === "file" ? (reply.edited_by ? "file, edited by " + reply.edited_by : "file")
        : "added by an admin" + (reply.edited_by ? " (last change: " + reply.edited_by + ")" : "")));
    var actions = el("td", { "class": "actions" });
    var edit = el("button", { type: "button", "class": "edit", "aria-label": "Edit /" + reply.shortcut }, "Edit");
    edit.addEventListener("click", function () { startEdit(reply); });
    var remove = el("button", { type: "button", "class": "delete secondary", "aria-label": "Delete /" + reply.shortcut }, "Delete");
    remove.addEventListener("click", function () {
      if (!window.confirm("Delete the canned reply /" + reply.shortcut + "?")) { return; }
      api("DELETE", "/api/console/admin/canned/" + reply.id).then(function () {
        status("Deleted /" + reply.shortcut + ".");
        if ($("canned-id").value === String(reply.id)) { resetForm(); }
        return load();
      }).catch(function (error) { status(error.message); });
    });
    actions.appendChild(edit);
    actions.appendChild(remove);
    tr.appendChild(actions);
    return tr;
  }

  function load() {
    return api("GET", "/api/console/admin/canned").then(function (data) {
      replies = data.replies;
      var body = $("canned-rows");
      body.textContent = "";
      replies.forEach(function (reply) { body.appendChild(row(reply)); });
      if (!replies.length) { body.appendChild(el("tr", {}, "")).appendChild(el("td", { colspan: "6" }, "No canned replies yet.")); }
      document.body.setAttribute("data-loaded", "true");
    }).catch(function (error) { status(error.message); });
  }

  function startEdit(reply) {
    $("canned-id").value = String(reply.id);
    $("canned-shortcut").value = reply.shortcut;
    $("canned-title").value = reply.title;
    $("canned-en").value = reply.en;
    $("canned-zh").value = reply.zh;
    $("canned-form-heading").textContent = "Edit /" + reply.shortcut;
    $("canned-save").textContent = "Save changes";
    $("canned-cancel").hidden = false;
    $("canned-form-error").textContent = "";
    $("canned-shortcut").focus();
  }

  function resetForm() {
    $("canned-form").reset();
    $("canned-id").value = "";
    $("canned-form-heading").textContent = "New canned reply";
    $("canned-save").textContent = "Add reply";
    $("canned-cancel").hidden = true;
  }

  $("canned-cancel").addEventListener("click", function () { resetForm(); $("canned-form-error").textContent = ""; });
  $("canned-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var id = $("canned-id").value;
    var body = {
      shortcut: $("canned-shortcut").value, title: $("canned-title").value,
      en: $("canned-en").value, zh: $("canned-zh").value
    };
    $("canned-form-error").textContent = "";
    api(id ? "PUT" : "POST", "/api/console/admin/canned" + (id ? "/" + id : ""), body).then(function (saved) {
      status((id ? "Saved /" : "Added /") + saved.shortcut + ".");
      resetForm();
      return load();
    }).catch(function (error) { $("canned-form-error").textContent = error.message; });
  });

  load();
})();
