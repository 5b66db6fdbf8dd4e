// The analytics dashboard: fetches /console/api/analytics/summary (which refreshes the pipeline) and draws each
// plot as inline SVG. No library, no network beyond this service; every text goes in through textContent.
"use strict";

(function () {
  const SVG = "http://www.w3.org/2000/svg";
  const COLORS = { contained: "#2e8b57", handoff: "#d9822b", bot: "#3b6fd8", agent: "#a04fc7", mood: "#3b6fd8", bar: "#3b6fd8" };

  function el(name, attrs, parent) {
    const node = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
    if (parent) parent.appendChild(node);
    return node;
  }

  function text(parent, x, y, value, attrs) {
    const node = el("text", Object.assign({ x, y }, attrs || {}), parent);
    node.textContent = value;
    return node;
  }

  function svg(container, width, height, label) {
    container.textContent = "";
    const root = el("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label }, container);
    el("title", {}, root).textContent = label;
    return root;
  }

  // The plot's own width in CSS pixels, so its text stays at the page's size.
  function width(container) {
    return Math.max(360, Math.round(container.clientWidth || 640));
  }

  function empty(container, message) {
    container.textContent = "";
    const p = document.createElement("p");
    p.className = "empty";
    p.textContent = message;
    container.appendChild(p);
  }

  function percent(value) {
    return value === null || value === undefined ? "–" : `${Math.round(value * 100)}%`;
  }

  // Lines over days: series = [{name, color, values: [number|null per day]}], y from lo to hi.
  function lineChart(container, days, series, lo, hi, label, format) {
    if (!days.length) return empty(container, "No conversations yet.");
    const W = width(container), H = 240, L = 44, R = 12, T = 12, B = 40;
    const root = svg(container, W, H, label);
    const x = (i) => (days.length === 1 ? L + (W - L - R) / 2 : L + (i * (W - L - R)) / (days.length - 1));
    const y = (v) => T + ((hi - v) * (H - T - B)) / (hi - lo);
    for (let k = 0; k <= 4; k++) {
      const v = lo + ((hi - lo) * k) / 4;
      el("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: "#e3e6ec" }, root);
      text(root, L - 6, y(v) + 4, format(v), { "text-anchor": "end" });
    }
    const step = Math.max(1, Math.ceil(days.length / 8));
    days.forEach((day, i) => {
      if (i % step === 0 || i === days.length - 1) text(root, x(i), H - B + 16, day.slice(5), { "text-anchor": "middle" });
    });
    series.forEach((s, n) => {
      const points = s.values.map((v, i) => (v === null || v === undefined ? null : [x(i), y(v)])).filter(Boolean);
      if (points.length > 1) {
        el("path", { class: "mark line", d: "M" + points.map((p) => p.join(",")).join("L"), fill: "none", stroke: s.color, "stroke-width": 2 }, root);
      }
      points.forEach((p, i) => {
        const dot = el("circle", { class: "mark", cx: p[0], cy: p[1], r: 4, fill: s.color }, root);
        el("title", {}, dot).textContent = `${s.name}: ${format(s.values.filter((v) => v !== null && v !== undefined)[i])}`;
      });
      el("rect", { x: L + n * 150, y: H - 14, width: 10, height: 10, fill: s.color }, root);
      text(root, L + n * 150 + 14, H - 5, s.name);
    });
  }

  // Horizontal bars: rows = [{label, value}].
  function barChart(container, rows, label, emptyText, color) {
    if (!rows.length) return empty(container, emptyText);
    const W = width(container), row = 24, L = Math.min(230, W / 2.5), R = 50, H = rows.length * row + 8;
    const root = svg(container, W, H, label);
    const max = Math.max(...rows.map((r) => r.value), 1);
    rows.forEach((r, i) => {
      const y = 4 + i * row;
      const name = r.label.length > 36 ? r.label.slice(0, 35) + "…" : r.label;
      const caption = text(root, L - 8, y + 15, name, { "text-anchor": "end" });
      el("title", {}, caption).textContent = r.label;
      const width = Math.max(2, ((W - L - R) * r.value) / max);
      el("rect", { class: "mark", x: L, y: y + 3, width, height: row - 8, fill: color || COLORS.bar, rx: 2 }, root);
      text(root, L + width + 6, y + 15, String(r.value));
    });
  }

  // CSAT 1..5, bot and agent side by side, as shares of each rater's ratings.
  function csatChart(container, csat) {
    const totals = { bot: 0, agent: 0 };
    for (const by of ["bot", "agent"]) for (const n of Object.values(csat[by] || {})) totals[by] += n;
    if (!totals.bot && !totals.agent) return empty(container, "No ratings yet.");
    const W = width(container), H = 240, L = 40, B = 40, T = 12;
    const root = svg(container, W, H, "CSAT distribution, bot and agents apart");
    const slot = (W - L - 12) / 5;
    for (let rating = 1; rating <= 5; rating++) {
      ["bot", "agent"].forEach((by, k) => {
        const count = (csat[by] || {})[String(rating)] || 0;
        const share = totals[by] ? count / totals[by] : 0;
        const h = share * (H - T - B);
        const x = L + (rating - 1) * slot + 8 + k * (slot / 2 - 8);
        const bar = el("rect", { class: "mark", x, y: H - B - h, width: slot / 2 - 10, height: Math.max(h, 1), fill: COLORS[by] }, root);
        el("title", {}, bar).textContent = `${by}: ${count} × ${rating}★`;
      });
      text(root, L + (rating - 0.5) * slot, H - B + 16, `${rating}★`, { "text-anchor": "middle" });
    }
    ["bot", "agent"].forEach((by, n) => {
      el("rect", { x: L + n * 200, y: H - 14, width: 10, height: 10, fill: COLORS[by] }, root);
      text(root, L + n * 200 + 14, H - 5, `${by === "bot" ? "the bot" : "agents"} (${totals[by]} ratings)`);
    });
  }

  function totalsCards(container, totals) {
    const cards = [
      ["Conversations", totals.conversations],
      ["Containment", percent(totals.containment_rate)],
      ["Handoff rate", percent(totals.handoff_rate)],
      ["Fallback rate", percent(totals.fallback_rate)],
      ["Reply p95", totals.latency_p95_ms === null ? "–" : `${Math.round(totals.latency_p95_ms)} ms`],
    ];
    container.textContent = "";
    for (const [name, value] of cards) {
      const card = document.createElement("div");
      card.className = "total";
      const v = document.createElement("span");
      v.className = "value";
      v.textContent = String(value);
      const n = document.createElement("span");
      n.className = "name";
      n.textContent = name;
      card.append(v, n);
      container.appendChild(card);
    }
  }

  function themesList(container, themes) {
    if (!themes.length) return empty(container, "No themes yet (make themes groups the feedback).");
    container.textContent = "";
    const max = Math.max(...themes.map((t) => t.count), 1);
    for (const theme of themes) {
      const box = document.createElement("article");
      box.className = "theme";
      const h = document.createElement("h3");
      h.textContent = `${theme.label} `;
      const lang = document.createElement("span");
      lang.className = "count";
      lang.textContent = `(${theme.language}, ${theme.count})`;
      h.appendChild(lang);
      box.appendChild(h);
      const bar = svg(document.createElement("div"), 260, 10, `${theme.count} texts`);
      el("rect", { class: "mark", x: 0, y: 0, width: Math.max(2, (260 * theme.count) / max), height: 10, fill: COLORS.handoff, rx: 2 }, bar);
      box.appendChild(bar);
      const list = document.createElement("ul");
      for (const example of theme.examples) {
        const item = document.createElement("li");
        item.textContent = example;
        list.appendChild(item);
      }
      box.appendChild(list);
      container.appendChild(box);
    }
  }

  function exportsList(container, tables) {
    container.textContent = "";
    for (const table of tables) {
      const item = document.createElement("li");
      const link = document.createElement("a");
      link.href = `/console/api/analytics/${table}.csv`;
      link.textContent = `${table}.csv`;
      item.appendChild(link);
      container.appendChild(item);
    }
  }

  function render(data) {
    const days = data.daily.map((d) => d.day);
    totalsCards(document.getElementById("totals"), data.totals);
    lineChart(
      document.getElementById("plot-rates"),
      days,
      [
        { name: "containment", color: COLORS.contained, values: data.daily.map((d) => d.containment_rate) },
        { name: "handoff", color: COLORS.handoff, values: data.daily.map((d) => d.handoff_rate) },
      ],
      0, 1, "Containment and handoff rate per day", percent,
    );
    barChart(document.getElementById("plot-intents"), data.intents.map((r) => ({ label: r.intent, value: r.messages })), "Top intents", "No messages yet.");
    barChart(document.getElementById("plot-fallbacks"), data.fallbacks.map((r) => ({ label: r.text, value: r.count })), "Top fallback messages", "No fallbacks.", COLORS.handoff);
    csatChart(document.getElementById("plot-csat"), data.csat);
    lineChart(
      document.getElementById("plot-mood"),
      data.mood.map((d) => d.day),
      [{ name: "mean mood", color: COLORS.mood, values: data.mood.map((d) => d.mean_mood) }],
      -1, 1, "Mood per day (−1 to 1)", (v) => (v === undefined ? "" : v.toFixed(1)),
    );
    barChart(document.getElementById("plot-reasons"), data.handoff_reasons.map((r) => ({ label: r.reason, value: r.count })), "Handoff reasons", "No handoffs.", COLORS.handoff);
    themesList(document.getElementById("themes"), data.themes);
  }

  async function load() {
    const main = document.getElementById("dashboard");
    const status = document.getElementById("dash-status");
    exportsList(document.getElementById("exports"), main.dataset.tables.split(" "));
    try {
      const response = await fetch("/console/api/analytics/summary", { credentials: "same-origin" });
      const body = await response.json();
      if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
      render(body);
      status.textContent = `Updated ${new Date().toLocaleTimeString()}.`;
    } catch (error) {
      status.textContent = `Could not load the analytics: ${error.message}`;
    } finally {
      main.setAttribute("aria-busy", "false");
    }
  }

  load();
})();
