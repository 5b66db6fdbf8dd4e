/* ShopDesk widget: the CSAT rating card (docs/csat.md). Loaded before widget.js, which calls
 * window.ShopDeskCsat.create(widget) once its DOM exists and then tells the card what happens:
 * shopperSpoke() on every message the shopper sends, botSaid(message) on every live bot_uttered frame,
 * modeChanged(mode) when a person takes over or hands back.
 *
 * When it asks (once per conversation episode: a rating, or "no thanks", closes the episode; the shopper's
 * next message opens a new one and withdraws a card left unanswered):
 * - a message with the custom payload {"shopdesk": "csat", "end": "goodbye" | "resolved" | "handback"}: the
 *   domain puts it on utter_goodbye and on the responses confirming a completed task, the agent console on
 *   its hand-back notice;
 *   A goodbye that is the only thing said since the shopper answered a card (rated it, or "no thanks") does
 *   not ask again: "thanks, bye" right after a rating is the same end;
 * - inactivity: csat_idle_s seconds (page query ?csat_idle_s=, else data-csat-idle-s on the config element,
 *   else the config's csatIdleS, CSAT_IDLE_S) of silence after a bot reply to the shopper, while the bot
 *   (not a person) has the conversation.
 *
 * The card: five labelled radio buttons in a fieldset (arrow keys move, screen readers read "4 Good"), an
 * optional comment (maxlength 1000, as the server's limit), send / no thanks; every text via textContent.
 * POST /api/widget/csat with the widget session in X-ShopDesk-Session (as /api/widget/history); the server
 * decides who is rated (bot or agent) and the language.
 */
(function () {
  "use strict";

  var ENDS = ["goodbye", "resolved", "handback"];
  var DEFAULT_IDLE_S = 300;
  var MAX_COMMENT = 1000;
  var counter = 0;

  function idleSeconds(config, configElement) {
    var fromQuery = Number(new URLSearchParams(window.location.search).get("csat_idle_s"));
    if (fromQuery > 0) { return fromQuery; }
    var fromAttribute = Number(configElement && configElement.getAttribute("data-csat-idle-s"));
    if (fromAttribute > 0) { return fromAttribute; }
    var fromConfig = Number(config.csatIdleS);
    return fromConfig > 0 ? fromConfig : DEFAULT_IDLE_S;
  }

  function newSurveyId() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  /* `w`: what widget.js shares — root, t, el, label, insert(item), scrollDown, sessionId(), language(),
   * config, configElement. */
  function create(w) {
    var idleMs = idleSeconds(w.config || {}, w.configElement) * 1000;
    var asked = false;      // this episode has had its ask
    var spoke = false;      // the shopper said something in this episode (since this page loaded)
    var said = 0;           // shopper messages in this episode
    var answered = false;   // the shopper answered this episode's card (rated or "no thanks")
    var previousAnswered = false;
    var mode = "bot";
    var card = null;        // the open card's list item, until rated or skipped
    var idleTimer = null;

    function setState(state) { w.root.setAttribute("data-csat", state); }
    function clearIdle() { clearTimeout(idleTimer); idleTimer = null; }

    function ask(trigger) {
      if (asked) { return; }
      asked = true;
      clearIdle();
      if (trigger === "goodbye" && previousAnswered && said <= 1) { setState("not-asked"); return; }
      card = buildCard(trigger);
      w.insert(card);
      w.scrollDown();
      setState("asked");
    }

    function buildCard(trigger) {
      var n = ++counter;
      var item = w.el("li", { "class": "sd-msg sd-csat", "data-trigger": trigger });
      var form = w.label(w.el("form", { "class": "sd-csat-form", novalidate: "" }), "aria-label", "csat_card_label");
      form.appendChild(w.label(w.el("p", { "class": "sd-csat-question" }), "text", "csat_question"));
      var scale = w.el("fieldset", { "class": "sd-csat-scale" });
      scale.appendChild(w.label(w.el("legend", { "class": "sd-csat-legend" }), "text", "csat_scale_label"));
      var radios = [];
      for (var score = 1; score <= 5; score += 1) {
        var option = w.el("label", { "class": "sd-csat-option" });
        var radio = w.el("input", { type: "radio", name: "sd-csat-" + n, value: String(score) });
        radios.push(radio);
        option.appendChild(radio);
        option.appendChild(w.el("span", { "class": "sd-csat-score" }, String(score)));
        option.appendChild(document.createTextNode(" "));
        option.appendChild(w.label(w.el("span", { "class": "sd-csat-word" }), "text", "csat_" + score));
        scale.appendChild(option);
      }
      form.appendChild(scale);
      var commentId = "sd-csat-comment-" + n;
      form.appendChild(w.label(w.el("label", { "for": commentId, "class": "sd-csat-comment-label" }), "text", "csat_comment_label"));
      var comment = w.el("textarea", { id: commentId, "class": "sd-csat-comment", rows: "2", maxlength: String(MAX_COMMENT) });
      form.appendChild(comment);
      var error = w.el("p", { "class": "sd-csat-error", role: "alert", hidden: "" });
      form.appendChild(error);
      var actions = w.el("div", { "class": "sd-csat-actions" });
      var submit = w.label(w.el("button", { type: "submit", "class": "sd-csat-submit" }), "text", "csat_submit");
      var skip = w.label(w.el("button", { type: "button", "class": "sd-csat-skip" }), "text", "csat_skip");
      actions.appendChild(submit);
      actions.appendChild(skip);
      form.appendChild(actions);
      item.appendChild(form);

      var surveyId = newSurveyId();
      function showError(key) {
        error.textContent = w.t(key);
        error.removeAttribute("hidden");
      }
      function finish(key, rating, text) {
        item.textContent = "";
        item.appendChild(w.el("p", { "class": "sd-csat-thanks" }, w.t(key)));
        if (rating) { item.appendChild(w.el("p", { "class": "sd-csat-rated" }, w.t("csat_you_rated", { rating: rating }))); }
        if (text) { item.appendChild(w.el("p", { "class": "sd-csat-echo" }, text)); }  // as text, never markup
        if (card === item) { card = null; }
      }
      skip.addEventListener("click", function () {
        answered = true;
        item.remove();
        if (card === item) { card = null; }
        setState("skipped");
      });
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var chosen = radios.filter(function (r) { return r.checked; })[0];
        if (!chosen) { showError("csat_choose"); radios[0].focus(); return; }
        var rating = Number(chosen.value);
        var text = comment.value.trim().slice(0, MAX_COMMENT);
        submit.disabled = true;
        fetch("/api/widget/csat", {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-ShopDesk-Session": w.sessionId() || "" },
          body: JSON.stringify({ survey_id: surveyId, rating: rating, comment: text, trigger: trigger, language: w.language() })
        }).then(function (response) {
          if (response.status === 201) { answered = true; finish("csat_thanks", rating, text); setState("rated"); }
          else if (response.status === 409) { answered = true; finish("csat_already"); setState("already"); }
          else { throw new Error("csat " + response.status); }
        }).catch(function () {
          submit.disabled = false;
          showError("csat_failed");
          setState("failed");
        });
      });
      return item;
    }

    return {
      /* The shopper sent a message: a new episode (an unanswered card is withdrawn). */
      shopperSpoke: function () {
        clearIdle();
        if (card) { card.remove(); card = null; setState("withdrawn"); }
        if (asked) { previousAnswered = answered; said = 0; }
        asked = false;
        answered = false;
        spoke = true;
        said += 1;
      },
      /* A live frame from the assistant (or a person, or a notice). */
      botSaid: function (message) {
        var custom = message && message.custom;
        if (custom && typeof custom === "object" && custom.shopdesk === "csat") {
          ask(ENDS.indexOf(custom.end) >= 0 ? custom.end : "goodbye");
          return;
        }
        if (message.role === "notice" || asked || !spoke || mode !== "bot") { return; }
        clearIdle();
        idleTimer = setTimeout(function () { if (mode === "bot") { ask("inactivity"); } }, idleMs);
      },
      modeChanged: function (next) {
        mode = next;
        if (next !== "bot") { clearIdle(); }
      },
      idleSeconds: function () { return idleMs / 1000; }
    };
  }

  window.ShopDeskCsat = { create: create };
})();
