/* ShopDesk agent console: the conversation's mood (slots `mood` / `mood_trace`, read by the service's
 * tracker sync). A badge per conversation (text label + number + colour, with a screen-reader prefix, so
 * colour is never the only signal), and for the open conversation a sparkline of the mood after each judged
 * shopper message plus the messages that pulled it down most (`mood_drivers`, matched to transcript lines by
 * the service), highlighted in the transcript. Every text goes through textContent. Used by console.js.
 */
(function () {
  "use strict";

  var SVG = "http://www.w3.org/2000/svg";
  var WIDTH = 260, HEIGHT = 64, PAD = 6;
  var driverIds = {};  // transcript message id -> driver (of the open conversation)

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }
  function svg(tag, attrs) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, String(attrs[k])); });
    return node;
  }
  function signed(value) {
    var text = Math.abs(value).toFixed(2);
    return (value < 0 ? "\u2212" : value > 0 ? "+" : "") + text;
  }

  /** The mood badge of a conversation summary ({mood, mood_label}). */
  function badge(item) {
    var label = item.mood_label || "unknown";
    var known = typeof item.mood === "number" && label !== "unknown";
    var node = el("span", {
      "class": "mood-badge mood-" + (known ? label : "unknown"),
      "data-mood": known ? String(item.mood) : "",
      "data-mood-label": known ? label : "unknown",
      title: known ? "Mood " + signed(item.mood) + " on a scale from \u22121 (very negative) to +1 (very positive)"
        : "No judged shopper message yet"
    });
    node.appendChild(el("span", { "class": "sr-only" }, "Mood: "));
    node.appendChild(el("span", { "class": "mood-text" }, known ? label + " " + signed(item.mood) : "mood unknown"));
    return node;
  }

  function sparkline(trace, drivers) {
    var driverTs = {};
    drivers.forEach(function (d) { driverTs[d.ts] = true; });
    var n = trace.length;
    var x = function (i) { return n === 1 ? WIDTH / 2 : PAD + i * (WIDTH - 2 * PAD) / (n - 1); };
    var y = function (mood) { return PAD + (1 - mood) / 2 * (HEIGHT - 2 * PAD); };
    var first = trace[0].mood, last = trace[n - 1].mood;
    var summary = "Mood after each of " + n + " judged shopper messages, from " + signed(first) + " to " + signed(last);
    var root = svg("svg", {
      "class": "mood-sparkline", viewBox: "0 0 " + WIDTH + " " + HEIGHT, width: WIDTH, height: HEIGHT,
      role: "img", "aria-label": summary, "data-points": n
    });
    var title = svg("title");
    title.textContent = summary;
    root.appendChild(title);
    root.appendChild(svg("line", { "class": "mood-zero", x1: PAD, x2: WIDTH - PAD, y1: y(0), y2: y(0) }));
    root.appendChild(svg("polyline", {
      "class": "mood-line",
      points: trace.map(function (p, i) { return x(i).toFixed(1) + "," + y(p.mood).toFixed(1); }).join(" ")
    }));
    trace.forEach(function (p, i) {
      var dot = svg("circle", {
        "class": "mood-point" + (driverTs[p.ts] ? " driver" : ""), cx: x(i).toFixed(1), cy: y(p.mood).toFixed(1),
        r: driverTs[p.ts] ? 4 : 2.5, "data-ts": p.ts
      });
      var tip = svg("title");
      tip.textContent = "Message " + (i + 1) + ": " + p.label + " (score " + signed(p.score) + "), mood " + signed(p.mood);
      dot.appendChild(tip);
      root.appendChild(dot);
    });
    return root;
  }

  function driverItem(driver) {
    var li = el("li", { "class": "mood-driver" });
    var quote = el("button", { type: "button", "class": "driver-text" },
      driver.text === null ? "(an earlier message, not in this transcript)" : driver.text);
    if (driver.message_id !== null) {
      quote.addEventListener("click", function () {
        var line = document.querySelector('#transcript [data-message-id="' + driver.message_id + '"]');
        if (line) { line.scrollIntoView({ block: "center" }); line.focus(); }
      });
    } else {
      quote.disabled = true;
    }
    li.appendChild(quote);
    li.appendChild(el("span", { "class": "conv-meta" },
      driver.label + " " + signed(driver.score) + " \u00b7 mood down " + driver.drop.toFixed(2) + " to " + signed(driver.mood)));
    return li;
  }

  /** Marks a transcript line when its message drove the mood down (called for every appended line). */
  function decorate(li, message) {
    li.setAttribute("data-message-id", String(message.id));
    var driver = driverIds[message.id];
    li.classList.toggle("driver", Boolean(driver));
    var old = li.querySelector(".driver-tag");
    if (old) { old.remove(); }
    if (driver) {
      li.setAttribute("tabindex", "-1");
      li.appendChild(el("span", { "class": "driver-tag" }, "\u25bc pulled the mood down by " + driver.drop.toFixed(2)));
    }
  }

  /** Draws the open conversation's mood panel and re-marks the transcript ({mood, mood_label, mood_trace, mood_drivers}). */
  function render(conv) {
    var body = document.getElementById("mood-body");
    var trace = Array.isArray(conv.mood_trace) ? conv.mood_trace : [];
    var drivers = Array.isArray(conv.mood_drivers) ? conv.mood_drivers : [];
    driverIds = {};
    drivers.forEach(function (d) { if (d.message_id !== null) { driverIds[d.message_id] = d; } });
    body.textContent = "";
    body.appendChild(badge(conv));
    if (!trace.length) {
      body.appendChild(el("p", { "class": "conv-meta" }, "No judged shopper message yet."));
    } else {
      body.appendChild(sparkline(trace, drivers));
      body.appendChild(el("h3", {}, "Messages that drove it down"));
      if (!drivers.length) {
        body.appendChild(el("p", { "class": "conv-meta" }, "None: no message lowered the mood."));
      } else {
        var list = el("ol", { "class": "mood-drivers", "aria-label": "Messages that drove the mood down" });
        drivers.forEach(function (d) { list.appendChild(driverItem(d)); });
        body.appendChild(list);
      }
    }
    document.querySelectorAll("#transcript [data-message-id]").forEach(function (li) {
      decorate(li, { id: li.getAttribute("data-message-id") });
    });
  }

  function clear(text) {
    driverIds = {};
    var body = document.getElementById("mood-body");
    body.textContent = "";
    body.appendChild(el("p", {}, text || "No conversation selected."));
  }

  window.ShopDeskMood = { badge: badge, render: render, decorate: decorate, clear: clear };
})();
