/* ShopDesk console pages' JSON API call, shared by console.js, canned_admin.js and admin_agents.js (loaded
 * before them). window.ShopDeskApi(method, path, body) sends the page's CSRF token (its csrf-token meta) on
 * every call and the body, if any, as JSON; a 401 sends the agent to the login page; any other failure rejects
 * with an Error whose message is the service's {"error": ...} (else "HTTP <status>") and whose .fields are its
 * field errors ({} when none). Resolves with the answer's JSON ({} when it has none). */
(function () {
  "use strict";

  var csrf = document.querySelector('meta[name="csrf-token"]').content;

  window.ShopDeskApi = function (method, path, body) {
    var options = { method: method, credentials: "same-origin", headers: { "X-CSRF-Token": csrf } };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(path, options).then(function (response) {
      if (response.status === 401) { window.location.href = "/console/login"; throw new Error("session expired"); }
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          var error = new Error(data.error || ("HTTP " + response.status));
          error.fields = data.fields || {};
          throw error;
        }
        return data;
      });
    });
  };
})();
