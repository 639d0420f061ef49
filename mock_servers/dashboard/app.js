// govlink mock dashboard: polls the admin API and renders it. No framework, no build.
// Everything received is untrusted (the journal holds whatever clients sent), so the
// DOM is built with textContent only, never innerHTML.
"use strict";

(function () {
  const API = new URL("..", window.location.href); // the page lives at /__admin/ui/
  const JOURNAL_LIMIT = 200;
  const REFRESH_MS = 1000;

  const $ = (id) => document.getElementById(id);
  let journal = [];
  let selectedId = null;
  let timer = null;
  let platformsLoadedAt = 0;

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "text") node.textContent = value;
      else if (key === "class") node.className = value;
      else node.setAttribute(key, value);
    }
    for (const child of children || []) node.appendChild(child);
    return node;
  }

  // Off loopback the admin API wants the token printed at start-up; the link printed
  // with it carries it in the fragment (#token=...), which never reaches a server.
  const TOKEN = (function () {
    const match = /(?:^#|&)token=([^&]+)/.exec(window.location.hash);
    if (match) {
      sessionStorage.setItem("govlink-mock-token", decodeURIComponent(match[1]));
      history.replaceState(null, "", window.location.pathname + window.location.search);
    }
    return sessionStorage.getItem("govlink-mock-token");
  })();

  async function getJSON(path) {
    const headers = TOKEN ? { Authorization: "Bearer " + TOKEN } : {};
    const response = await fetch(new URL(path, API), { cache: "no-store", headers });
    if (!response.ok) throw new Error(path + ": HTTP " + response.status);
    return response.json();
  }

  function statusClass(status, pending) {
    if (pending) return "sp";
    if (status === null || status === undefined) return "s0";
    return "s" + String(status)[0];
  }

  function vnTime(iso, withDate) {
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return iso;
    const options = { timeZone: "Asia/Ho_Chi_Minh", hour12: false, hour: "2-digit", minute: "2-digit", second: "2-digit" };
    if (withDate) Object.assign(options, { year: "numeric", month: "2-digit", day: "2-digit" });
    return new Intl.DateTimeFormat("en-GB", options).format(date);
  }

  function formatOffset(seconds) {
    const sign = seconds < 0 ? "−" : "+";
    let rest = Math.abs(Math.round(seconds));
    const days = Math.floor(rest / 86400); rest -= days * 86400;
    const hours = Math.floor(rest / 3600); rest -= hours * 3600;
    const minutes = Math.floor(rest / 60); const secs = rest - minutes * 60;
    const parts = [];
    if (days) parts.push(days + "d");
    if (hours) parts.push(hours + "h");
    if (minutes) parts.push(minutes + "m");
    if (secs || !parts.length) parts.push(secs + "s");
    return sign + parts.join(" ");
  }

  // A summary value in a few words: scalars as they are, lists and objects by size
  // (never raw JSON: the cards must stay small beside the journal).
  function brief(value) {
    if (value === null || value === undefined) return "—";
    if (Array.isArray(value)) return value.length + (value.length === 1 ? " item" : " items");
    if (typeof value === "object") {
      const size = Object.keys(value).length;
      return size + (size === 1 ? " entry" : " entries");
    }
    return String(value);
  }

  function show(value) {
    let text;
    if (Array.isArray(value) && value.every((item) => item === null || typeof item !== "object")) {
      text = value.length ? value.map(String).join(", ") : "none";
    } else if (value !== null && typeof value === "object" && !Array.isArray(value)) {
      const entries = Object.entries(value);
      text = entries.length ? entries.map(([k, v]) => k + ": " + brief(v)).join(" · ") : "none";
    } else {
      text = brief(value);
    }
    return text.length > 140 ? text.slice(0, 139) + "…" : text;
  }

  // --- clock ---------------------------------------------------------------------------
  function renderClock(clock) {
    $("clock-now").textContent = vnTime(clock.now, true);
    const offset = $("clock-offset");
    if (Math.abs(clock.offset_seconds) >= 1) {
      offset.hidden = false;
      offset.textContent = formatOffset(clock.offset_seconds) + " from real time";
    } else {
      offset.hidden = true;
    }
  }

  // --- platforms -----------------------------------------------------------------------
  function renderPlatforms(platforms, state) {
    const box = $("platforms");
    box.replaceChildren();
    for (const item of platforms) {
      const card = el("article", { class: "card" + (item.available ? "" : " unavailable"), "data-platform": item.name });
      const title = el("h3", { text: item.title || item.name });
      title.appendChild(document.createTextNode(" "));
      title.appendChild(el("span", { class: "badge " + (item.available ? "badge-on" : "badge-off"), text: item.available ? "running" : "not available" }));
      card.appendChild(title);
      card.appendChild(el("div", { class: "key", text: item.name + " · " + item.prefix }));
      if (item.url) card.appendChild(el("div", { class: "url mono", text: item.url }));
      if (!item.available) {
        card.appendChild(el("div", { class: "problem", text: item.problem || "" }));
      } else {
        const summary = state[item.name] || {};
        const list = el("dl");
        const keys = Object.keys(summary);
        if (!keys.length) list.appendChild(el("dd", { class: "muted", text: "no state" }));
        for (const key of keys) {
          list.appendChild(el("dt", { text: key.replace(/_/g, " ") }));
          list.appendChild(el("dd", { text: show(summary[key]) }));
        }
        card.appendChild(list);
      }
      box.appendChild(card);
    }
  }

  // --- faults --------------------------------------------------------------------------
  function describeFault(fault) {
    const bits = [];
    if (fault.status) bits.push("HTTP " + fault.status + (fault.retry_after ? " (Retry-After " + fault.retry_after + ")" : ""));
    if (fault.reset_connection) bits.push("connection reset");
    if (fault.truncate_body) bits.push("truncated body");
    if (fault.malformed_body) bits.push("malformed body");
    if (fault.latency_ms !== null) bits.push("latency " + (Array.isArray(fault.latency_ms) ? fault.latency_ms.join("–") : fault.latency_ms) + " ms");
    return bits.join(" + ");
  }

  function renderFaults(faults) {
    const table = $("faults");
    const body = table.querySelector("tbody");
    body.replaceChildren();
    const active = faults.filter((f) => f.active).length;
    $("faults-count").textContent = faults.length ? "(" + active + " active of " + faults.length + ")" : "";
    $("faults-empty").hidden = faults.length > 0;
    table.hidden = faults.length === 0;
    for (const fault of faults) {
      const where = [fault.platform || "any platform", (fault.method || []).join(",") || "any method", fault.path || "any path"].join(" · ");
      const fired = fault.fired + (fault.count !== null ? " / " + fault.count : "");
      body.appendChild(el("tr", { "data-fault": fault.id }, [
        el("td", { class: "mono", text: fault.id + (fault.name ? " " + fault.name : "") }),
        el("td", { text: where }),
        el("td", { text: describeFault(fault) }),
        el("td", { class: "num", text: String(fault.probability) }),
        el("td", { class: "num", text: fired }),
        el("td", {}, [el("span", { class: "badge " + (fault.active ? "badge-on" : "badge-off"), text: fault.active ? "active" : "spent" })]),
      ]));
    }
  }

  // --- journal -------------------------------------------------------------------------
  function matchesFilter(entry, words) {
    if (!words.length) return true;
    const state = entry.pending ? "pending" : entry.status === null ? "reset" : String(entry.status);
    const haystack = [entry.platform, entry.method, entry.path, entry.query, state, entry.fault ? "fault " + entry.fault.action : ""].join(" ").toLowerCase();
    return words.every((word) => haystack.includes(word));
  }

  function renderJournal() {
    const words = $("journal-filter").value.toLowerCase().split(/\s+/).filter(Boolean);
    const body = $("journal").querySelector("tbody");
    body.replaceChildren();
    const shown = journal.filter((entry) => matchesFilter(entry, words));
    for (const entry of shown) {
      const status = entry.pending ? "pending" : entry.status === null ? (entry.error ? "reset" : "—") : String(entry.status);
      const row = el("tr", { "data-id": String(entry.id), class: entry.id === selectedId ? "selected" : "" }, [
        el("td", { class: "num", text: String(entry.id) }),
        el("td", { class: "mono", text: vnTime(entry.time, false) }),
        el("td", { text: entry.platform }),
        el("td", { class: "mono", text: entry.method }),
        el("td", { class: "path", text: entry.path + (entry.query ? "?" + entry.query : "") }),
        el("td", {}, [el("span", { class: "status " + statusClass(entry.status, entry.pending), text: status })]),
        el("td", { class: "num", text: entry.duration_ms === null ? "" : entry.duration_ms.toFixed(1) }),
        el("td", {}, entry.fault ? [el("span", { class: "badge badge-fault", text: entry.fault.action.replace(/_/g, " ") })] : []),
      ]);
      row.addEventListener("click", () => select(entry.id));
      body.appendChild(row);
    }
    const total = journal.length;
    const held = renderJournal.held || total;
    let count = "";
    if (total) {
      count = "(" + (shown.length === total ? total : shown.length + " of " + total);
      if (held > total) count += ", latest " + total + " of " + held;
      count += ")";
    }
    $("journal-count").textContent = count;
    $("journal-empty").hidden = total > 0;
  }

  function prettyBody(part) {
    if (!part || part.body === undefined || part.body === "") return "(empty body)";
    if (part.body_encoding === "base64") return "(binary, " + part.body_size + " bytes, base64)\n" + part.body;
    let text = part.body;
    try { text = JSON.stringify(JSON.parse(text), null, 2); } catch (e) { /* not JSON: as sent */ }
    if (part.body_truncated) text += "\n… (" + part.body_size + " bytes in total)";
    return text;
  }

  function prettyHeaders(headers) {
    return Object.entries(headers || {}).map(([k, v]) => k + ": " + v).join("\n");
  }

  async function select(id) {
    selectedId = id;
    renderJournal();
    const panel = $("detail");
    let entry;
    try {
      entry = await getJSON("journal/" + id); // the list is brief: fetch headers and bodies
    } catch (error) {
      panel.hidden = true;
      return;
    }
    if (selectedId !== id) return; // another row was clicked meanwhile
    panel.hidden = false;
    panel.scrollTop = 0;
    $("detail-close").focus({ preventScroll: true });
    $("detail-title").textContent = "#" + entry.id + " " + entry.method + " " + entry.path + (entry.query ? "?" + entry.query : "");
    $("detail-request").textContent = prettyHeaders(entry.request.headers) + "\n\n" + prettyBody(entry.request);
    let response = entry.pending ? "(pending: no reply yet)" : entry.response ? "HTTP " + entry.status + "\n" + prettyHeaders(entry.response.headers) + "\n\n" + prettyBody(entry.response) : "(no response)";
    if (entry.error) response += "\n\n" + entry.error;
    $("detail-response").textContent = response;
  }

  // --- refresh loop --------------------------------------------------------------------
  async function refresh() {
    try {
      const needPlatforms = Date.now() - platformsLoadedAt > 10000;
      const [clock, state, faults, entries, held, platforms] = await Promise.all([
        getJSON("clock"),
        getJSON("state"),
        getJSON("faults"),
        getJSON("journal?brief=true&order=desc&limit=" + JOURNAL_LIMIT),
        getJSON("journal/count"),
        needPlatforms ? getJSON("platforms") : Promise.resolve(null),
      ]);
      renderJournal.held = held.count;
      renderClock(clock);
      if (platforms) {
        platformsLoadedAt = Date.now();
        refresh.platforms = platforms.platforms;
      }
      renderPlatforms(refresh.platforms || [], state);
      renderFaults(faults.faults);
      journal = entries.entries;
      renderJournal();
      if (selectedId !== null) {
        const still = journal.some((e) => e.id === selectedId);
        if (!still) { selectedId = null; $("detail").hidden = true; }
      }
      $("status-line").textContent = "updated " + new Date().toLocaleTimeString("en-GB");
    } catch (error) {
      $("status-line").textContent = "cannot reach the mock: " + error.message;
    }
  }

  function schedule() {
    if (timer) clearInterval(timer);
    timer = $("auto-refresh").checked ? setInterval(refresh, REFRESH_MS) : null;
  }

  $("base-url").textContent = API.origin;
  $("refresh").addEventListener("click", refresh);
  $("auto-refresh").addEventListener("change", schedule);
  $("journal-filter").addEventListener("input", renderJournal);
  function closeDetail() { selectedId = null; $("detail").hidden = true; renderJournal(); }
  $("detail-close").addEventListener("click", closeDetail);
  document.addEventListener("keydown", (event) => { if (event.key === "Escape" && !$("detail").hidden) closeDetail(); });
  refresh();
  schedule();
})();
