/* ShopDesk console: refund and return risk signals (issue 17) in the context column (#risk-panel / #risk-body).
 * On every "conversation" event it asks GET /api/console/conversations/{id}/risk and draws each signal: its
 * level ("Watch" / "Info", as text, not only as a colour), title, a "Why:" line with the numbers, and the
 * numbers themselves. Signals for the agent's judgement only: nothing refuses a refund or a return because of
 * them (the panel says so). All text goes through textContent. Registers with window.ShopDeskConsole.
 */
(function () {
  "use strict";

  var SD = window.ShopDeskConsole;
  var LEVELS = { watch: "Watch", info: "Info" };
  var LABELS = {
    returns: "Returns in the window", shop_median: "Shop's median customer", customers_compared: "Customers compared",
    window_days: "Window (days)", since: "Counted since", currency: "Currency", ordered_minor: "Ordered",
    refunded_minor: "Refunded", share: "Refunded share", orders: "Orders (not cancelled)",
    refunded_orders: "Orders with a refund", order_number: "Order at hand", order_total_minor: "Order total",
    order_refunded_minor: "Refunded on this order", order_share: "Refunded share of this order",
    addresses_checked: "Addresses checked", shared_addresses: "Addresses shared", address: "Most shared address",
    customers_at_address: "Customers at that address", other_customers: "Other customers there",
    failures: "Failed verifications", by_this_client: "From this conversation's client",
    on_customer_orders_by_others: "On the customer's orders, other clients", orders_failed: "Order numbers tried",
    clients_known: "Conversation's clients known"
  };
  var requested = null;  // the handoff id of the newest request: older answers are dropped

  function body() { return document.getElementById("risk-body"); }

  function value(key, v, numbers) {
    if (v === null || v === undefined) { return "—"; }
    if (typeof v === "boolean") { return v ? "yes" : "no"; }
    if (/_minor$/.test(key) && typeof v === "number") { return (v / 100).toFixed(2) + (numbers.currency ? " " + numbers.currency : ""); }
    if (/share$/.test(key) && typeof v === "number") { return Math.round(v * 100) + "%"; }
    return String(v);
  }

  function signalItem(signal) {
    var level = LEVELS[signal.level] ? signal.level : "info";
    var li = SD.el("li", {
      "class": "risk-signal risk-" + level, "data-code": signal.code, "data-level": level,
      "aria-label": LEVELS[level] + ": " + signal.title + ". " + signal.reason
    });
    var head = SD.el("h3", { "class": "risk-title" });
    head.appendChild(SD.el("span", { "class": "risk-level risk-level-" + level }, LEVELS[level]));
    head.appendChild(SD.el("span", {}, " " + signal.title));
    li.appendChild(head);
    li.appendChild(SD.el("p", { "class": "risk-why" }, "Why: " + signal.reason));
    var numbers = signal.numbers || {};
    var details = SD.el("details", { "class": "risk-numbers" });
    details.appendChild(SD.el("summary", {}, "Numbers"));
    var dl = SD.el("dl");
    Object.keys(numbers).forEach(function (key) {
      dl.appendChild(SD.el("dt", { "data-key": key }, LABELS[key] || key));
      dl.appendChild(SD.el("dd", { "data-key": key }, value(key, numbers[key], numbers)));
    });
    details.appendChild(dl);
    li.appendChild(details);
    return li;
  }

  function draw(report) {
    var box = body();
    box.textContent = "";
    box.removeAttribute("aria-busy");
    var customer = report.customer;
    box.appendChild(SD.el("p", { "class": "risk-customer" }, customer
      ? "For " + customer.name + " (" + customer.id + ")" + (customer.source === "verified order" ? ", owner of the verified order" : ", verified in this conversation") +
        (report.order_at_hand ? "; order at hand " + report.order_at_hand : "")
      : "No verified customer."));
    (report.notes || []).forEach(function (note) { box.appendChild(SD.el("p", { "class": "risk-note" }, note)); });
    var watch = report.signals.filter(function (s) { return s.level === "watch"; }).length;
    box.appendChild(SD.el("p", { "class": "risk-summary", "role": "status" },
      watch ? watch + " of " + report.signals.length + " signals to watch" : "Nothing unusual in " + report.signals.length + (report.signals.length === 1 ? " signal" : " signals")));
    var list = SD.el("ul", { "class": "risk-signals", "aria-label": "Risk signals" });
    report.signals.slice().sort(function (a, b) { return (a.level === "watch" ? 0 : 1) - (b.level === "watch" ? 0 : 1); })
      .forEach(function (signal) { list.appendChild(signalItem(signal)); });
    box.appendChild(list);
    box.appendChild(SD.el("p", { "class": "risk-advisory" }, report.advisory));
  }

  function message(text, cls) {
    var box = body();
    box.textContent = "";
    box.removeAttribute("aria-busy");
    box.appendChild(SD.el("p", { "class": cls || "" }, text));
  }

  function load(id) {
    requested = id;
    body().setAttribute("aria-busy", "true");
    return SD.api("GET", "/api/console/conversations/" + encodeURIComponent(id) + "/risk").then(function (report) {
      if (requested !== id || SD.selected() !== id) { return; }
      draw(report);
    }).catch(function (error) {
      if (requested !== id) { return; }
      var text = String(error.message || "");  // the service's error already starts "risk signals unavailable"
      message(/^risk signals unavailable/i.test(text) ? text.charAt(0).toUpperCase() + text.slice(1) : "Risk signals unavailable: " + text, "risk-error");
    });
  }

  SD.on("conversation", function (conv) { load(conv.id); });
  SD.on("ticket", function () { requested = null; message("Tickets have no risk signals."); });
  window.ShopDeskRisk = { load: load };
})();
