// The ergo Observer: one page, hash routes, data from /api (no external scripts).
"use strict";

const params = new URLSearchParams(location.search);
if (params.get("token")) sessionStorage.setItem("ergo-token", params.get("token"));
const token = sessionStorage.getItem("ergo-token");

function headers(extra) {
  const h = Object.assign({}, extra || {});
  if (token) h["Authorization"] = "Bearer " + token;
  return h;
}

// The node whose API the page shows: this one, or another reached through its agent.
let attached = sessionStorage.getItem("ergo-node") || "";

async function api(path, body, here) {
  if (attached && !here && path.startsWith("/api/")) path = "/node/" + encodeURIComponent(attached) + path;
  const init = body === undefined
    ? { headers: headers() }
    : { method: "POST", headers: headers({ "Content-Type": "application/json" }), body: JSON.stringify(body) };
  const r = await fetch(path, init);
  const text = await r.text();
  if (!r.ok) throw new Error(r.status + " " + text);
  return text ? JSON.parse(text) : null;
}

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null) e.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

const fmt = {
  bytes(n) { const u = ["B", "KiB", "MiB", "GiB"]; let i = 0; while (n >= 1024 && i < 3) { n /= 1024; i++; } return n.toFixed(i ? 1 : 0) + " " + u[i]; },
  secs(s) { s = Math.floor(s); const h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60; return (h ? h + "h " : "") + (h || m ? m + "m " : "") + (s % 60) + "s"; },
  num(n) { return Number(n).toLocaleString("en-US"); },
  us(n) { return n >= 1e6 ? (n / 1e6).toFixed(2) + " s" : n >= 1e3 ? (n / 1e3).toFixed(1) + " ms" : n + " µs"; },
};

function setStatus(text, bad) {
  const s = document.getElementById("status");
  s.textContent = text;
  s.className = bad ? "error" : "";
}

let timer = null;
let generation = 0;
function every(ms, f) {
  const mine = generation;
  const tick = async () => {
    if (mine !== generation) return;
    try { await f(); setStatus("updated " + new Date().toLocaleTimeString()); }
    catch (e) { setStatus(e.message, true); }
    if (mine === generation) timer = setTimeout(tick, ms);
  };
  tick();
}

function chart(values, label, id) {
  const w = 300, h = 80;
  const c = el("canvas", { width: w, height: h, id });
  const g = c.getContext("2d");
  const max = Math.max(1, ...values);
  g.strokeStyle = "#2f6fd6"; g.lineWidth = 1.5; g.beginPath();
  values.forEach((v, i) => {
    const x = values.length > 1 ? i * (w - 2) / (values.length - 1) + 1 : 1;
    const y = h - 2 - (v / max) * (h - 6);
    if (i) g.lineTo(x, y); else g.moveTo(x, y);
  });
  g.stroke();
  const last = values.length ? values[values.length - 1] : 0;
  return el("div", { class: "chart" }, el("div", { class: "label" }, label + " (last 60 s) — now " + fmt.num(Math.round(last)) + ", max " + fmt.num(Math.round(max))), c);
}

function rates(samples, key) {
  const out = [];
  for (let i = 1; i < samples.length; i++) {
    const dt = Math.max(0.001, samples[i].uptime - samples[i - 1].uptime);
    out.push(Math.max(0, samples[i][key] - samples[i - 1][key]) / dt);
  }
  return out;
}

let refreshes = 0;
const pages = {
  async overview(main) {
    every(1000, async () => {
      const [n, hist] = await Promise.all([api("/api/node"), api("/api/history")]);
      refreshes++;
      document.getElementById("node-name").textContent = n.name;
      const card = (label, value, id) => el("div", { class: "card" }, el("div", { class: "label" }, label), el("div", { class: "value", id }, value));
      main.replaceChildren(
        el("h2", {}, "Node " + n.name),
        el("div", { class: "cards" },
          card("Uptime", fmt.secs(n.uptime), "uptime"),
          card("Processes", fmt.num(n.processes), "process-count"),
          card("Memory", fmt.bytes(n.memory), "memory"),
          card("Messages in", fmt.num(n.messages_in), "messages-in"),
          card("Messages out", fmt.num(n.messages_out), "messages-out"),
          card("Queued", fmt.num(n.queued), "queued"),
          card("Peers", n.peers, "peers"),
          card("Refreshes", refreshes, "live-counter")),
        el("div", { class: "charts" },
          chart(hist.map(s => s.processes), "Processes", "chart-processes"),
          chart(hist.map(s => s.memory / 1048576), "Memory (MiB)", "chart-memory"),
          chart(rates(hist, "messages_in"), "Messages in /s", "chart-in"),
          chart(rates(hist, "messages_out"), "Messages out /s", "chart-out")));
    });
  },

  async processes(main, q) {
    const state = { offset: Number(q.get("offset") || 0), limit: 50, sort: q.get("sort") || "mailbox", order: q.get("order") || "desc", filter: q.get("filter") || "" };
    const filter = el("input", { id: "filter", placeholder: "filter by name, type or pid", value: state.filter });
    const sort = el("select", { id: "sort" }, ...["mailbox", "latency", "messages_in", "messages_out", "reductions", "run_time", "id", "name"].map(s => el("option", s === state.sort ? { value: s, selected: "" } : { value: s }, s)));
    const info = el("span", { id: "list-info" });
    const table = el("table", { id: "process-table" });
    const load = async () => {
      const qs = new URLSearchParams({ offset: state.offset, limit: state.limit, sort: state.sort, order: state.order, filter: state.filter });
      const page = await api("/api/processes?" + qs);
      info.textContent = `${fmt.num(page.matched)} of ${fmt.num(page.total)} processes — rows ${page.matched ? page.offset + 1 : 0}–${page.offset + page.rows.length}`;
      const head = (key, label, num) => el("th", { class: num ? "num" : "", onclick: () => { state.order = state.sort === key && state.order === "desc" ? "asc" : "desc"; state.sort = key; sort.value = key; load(); } }, label + (state.sort === key ? (state.order === "desc" ? " ▼" : " ▲") : ""));
      table.replaceChildren(
        el("tr", {}, head("id", "Pid"), head("name", "Name"), el("th", {}, "Type"), el("th", {}, "State"), head("mailbox", "Mailbox", 1), head("latency", "Latency", 1), head("messages_in", "In", 1), head("messages_out", "Out", 1), head("reductions", "Reductions", 1), head("run_time", "Run time", 1)),
        ...page.rows.map(r => el("tr", { class: "process-row", "data-id": r.id },
          el("td", { class: "mono" }, el("a", { href: "#/process/" + r.id }, r.pid)),
          el("td", { class: "pname" }, r.name || ""),
          el("td", {}, r.kind),
          el("td", {}, r.state),
          el("td", { class: "num", title: "urgent/system/main/log: " + r.queues.join("/") }, r.mailbox),
          el("td", { class: "num latency" }, fmt.us(r.latency_us)),
          el("td", { class: "num" }, fmt.num(r.messages_in)),
          el("td", { class: "num" }, fmt.num(r.messages_out)),
          el("td", { class: "num" }, fmt.num(r.reductions)),
          el("td", { class: "num" }, fmt.us(r.run_time_us)))));
    };
    filter.addEventListener("input", () => { state.filter = filter.value; state.offset = 0; load(); });
    sort.addEventListener("change", () => { state.sort = sort.value; state.offset = 0; load(); });
    const prev = el("button", { onclick: () => { state.offset = Math.max(0, state.offset - state.limit); load(); } }, "‹ prev");
    const next = el("button", { onclick: () => { state.offset += state.limit; load(); } }, "next ›");
    main.replaceChildren(el("h2", {}, "Processes"), el("div", { class: "toolbar" }, filter, sort, prev, next, info), table);
    every(2000, load);
  },

  async process(main, q, id) {
    const out = el("div", { id: "action-result" });
    const act = async (path, body, what) => {
      try { await api("/api/process/" + id + path, body); out.className = "ok"; out.textContent = what + ": done"; }
      catch (e) { out.className = "error"; out.textContent = what + ": " + e.message; }
    };
    const text = el("input", { id: "send-text", placeholder: "message text" });
    const reason = el("input", { id: "exit-reason", value: "shutdown" });
    const level = el("select", { id: "log-level" }, ...["default", "error", "warn", "info", "debug", "trace"].map(l => el("option", { value: l }, l)));
    const actions = el("div", { class: "toolbar" },
      text, el("button", { onclick: () => act("/send", { text: text.value }, "send") }, "Send"),
      reason, el("button", { onclick: () => act("/exit", { reason: reason.value }, "exit") }, "Exit"),
      el("button", { class: "danger", id: "kill", onclick: () => act("/kill", {}, "kill") }, "Kill"),
      level, el("button", { onclick: () => act("/log_level", { level: level.value }, "log level") }, "Set level"));
    const body = el("div", { id: "process-body" });
    main.replaceChildren(el("h2", {}, "Process ", el("span", { id: "process-pid" })), actions, out, body);
    every(2000, async () => {
      let p;
      try { p = await api("/api/process/" + id); }
      catch (e) { body.replaceChildren(el("p", { class: "error", id: "process-gone" }, "This process is gone (" + e.message + ").")); return; }
      document.getElementById("process-pid").textContent = p.pid + (p.name ? " (" + p.name + ")" : "");
      const link = x => x.local ? el("a", { href: "#/process/" + x.id }, x.pid) : x.pid;
      const kv = rows => el("table", { class: "kv" }, ...rows.map(([k, v]) => el("tr", {}, el("td", {}, k), el("td", { class: "mono" }, v))));
      body.replaceChildren(...[
        kv([["Name", p.name || "—"], ["Type", p.kind], ["State", p.state], ["Uptime", fmt.secs(p.uptime)],
            ["Queues (urgent/system/main/log)", `${p.queues.urgent} / ${p.queues.system} / ${p.queues.main} / ${p.queues.log}`],
            ["Messages in / out", fmt.num(p.messages_in) + " / " + fmt.num(p.messages_out)],
            ["Reductions", fmt.num(p.reductions)], ["Run time", fmt.us(p.run_time_us)],
            ["Latency (oldest message waited)", p.latency_tracking ? fmt.us(p.latency_us) : "not tracked"], ["Traps exits", p.trap_exit ? "yes" : "no"],
            ["Parent", p.parent ? link(p.parent) : "—"], ["Aliases", p.aliases.join(", ") || "—"], ["Log level", p.log_level || "default"]]),
        el("h3", {}, "Links"), el("ul", { id: "links" }, ...p.links.map(l => el("li", {}, link(l)))),
        el("h3", {}, "Monitors"), el("ul", {}, ...p.monitors.map(m => el("li", {}, m.ref + " → ", link(m.target)))), el("p", {}, "Monitored by: " + (p.monitored_by.join(", ") || "—")),
        p.children.length ? el("div", {}, el("h3", {}, "Supervision subtree"), treeList(p.children)) : null,
        p.events.length ? el("div", {}, el("h3", {}, "Events"), el("ul", {}, ...p.events.map(e => el("li", {}, `${e.name}: ${e.published} published, ${e.subscribers} subscribers`)))) : null,
        el("h3", {}, "Environment"), kv(p.env.length ? p.env : [["—", ""]]),
        el("h3", {}, "State"), el("pre", { id: "actor-state" }, p.actor_state || "(its type does not implement Debug)"),
        el("h3", {}, "Log"), logTable(p.logs)].filter(Boolean));
    });
  },

  async tree(main) {
    every(3000, async () => {
      const roots = await api("/api/tree");
      main.replaceChildren(el("h2", {}, "Supervision trees"),
        ...(roots.length ? roots.map(r => el("div", { class: "app" },
          el("h3", {}, r.application ? "Application " + r.application : "Supervisor " + r.tree.id),
          treeList([r.tree]))) : [el("p", {}, "No supervisors.")]));
    });
  },

  async network(main) {
    every(3000, async () => {
      const n = await api("/api/network");
      const th = (t, num) => el("th", { class: num ? "num" : "" }, t);
      const td = (t, num) => el("td", { class: num ? "num" : "mono" }, t);
      main.replaceChildren(el("h2", {}, "Network of " + n.node),
        n.peers.length ? el("p", {}, "Connected: " + n.peers.join(", ")) : el("p", {}, "No connected nodes."),
        ...n.transports.map(t => el("div", { class: "transport" },
          el("h3", {}, "Transport " + t.transport),
          el("p", {}, "Registrar: " + (t.registrar || "—")),
          t.peers.length ? el("table", { class: "peer-table" },
            el("tr", {}, th("Peer"), th("Connections", 1), th("Bytes in", 1), th("Bytes out", 1), th("Messages in", 1), th("Messages out", 1)),
            ...t.peers.map(p => el("tr", { class: "peer-row" }, td(p.node), td(p.connections + " / " + p.pool_size, 1),
              td(fmt.bytes(p.bytes_in), 1), td(fmt.bytes(p.bytes_out), 1), td(fmt.num(p.messages_in), 1), td(fmt.num(p.messages_out), 1))))
            : el("p", {}, "No peers."))));
    });
  },

  async events(main) {
    every(2000, async () => {
      const list = await api("/api/events");
      main.replaceChildren(el("h2", {}, "Events"),
        list.length ? el("table", {}, el("tr", {}, ...["Name", "Producer", "Type", "Published", "Delivered", "Subscribers", "Nodes"].map(h => el("th", {}, h))),
          ...list.map(e => el("tr", {}, el("td", {}, e.name), el("td", { class: "mono" }, el("a", { href: "#/process/" + e.owner_id }, e.owner)), el("td", {}, e.kind),
            el("td", { class: "num" }, fmt.num(e.published)), el("td", { class: "num" }, fmt.num(e.delivered)), el("td", { class: "num" }, e.subscribers), el("td", {}, e.nodes.join(", ")))))
          : el("p", {}, "No events registered."));
    });
  },

  async logs(main) {
    every(2000, async () => {
      const list = await api("/api/logs?limit=300");
      main.replaceChildren(el("h2", {}, "Recent log records"), logTable(list));
    });
  },
};

function treeList(nodes) {
  return el("ul", { class: "tree" }, ...nodes.map(n => el("li", { class: "tree-node", "data-id": n.id },
    el("span", { class: "tag " + n.kind }, n.kind), " ", el("b", {}, n.id), " ",
    n.pid ? el("a", { href: "#/process/" + n.local_id, class: "mono" }, n.pid) : el("i", {}, "not running"),
    " ", el("small", {}, n.actor + (n.restart ? ", " + n.restart : "")),
    n.children.length ? treeList(n.children) : null)));
}

function logTable(records) {
  if (!records.length) return el("p", {}, "No records.");
  return el("table", { class: "logs" }, el("tr", {}, ...["Time", "Level", "Process", "Target", "Message"].map(h => el("th", {}, h))),
    ...records.slice().reverse().map(r => el("tr", {}, el("td", { class: "mono" }, r.time.replace("T", " ").slice(0, 23)), el("td", {}, r.level), el("td", { class: "mono" }, r.pid || ""), el("td", {}, r.target),
      el("td", {}, r.message + (r.fields.length ? " " + r.fields.map(([k, v]) => k + "=" + v).join(" ") : "")))));
}

function route() {
  generation++;
  clearTimeout(timer);
  const hash = location.hash.replace(/^#\/?/, "");
  const [path, query] = hash.split("?");
  const parts = path.split("/");
  const q = new URLSearchParams(query || "");
  const main = document.getElementById("main");
  let page = parts[0] || "overview";
  if (!pages[page]) page = "overview";
  for (const a of document.querySelectorAll("nav a")) a.classList.toggle("active", a.dataset.page === page);
  pages[page](main, q, parts[1]);
}

async function nodes() {
  const select = document.getElementById("node-select");
  const [self, net] = await Promise.all([api("/api/node", undefined, true), api("/api/network", undefined, true)]);
  const names = [self.name, ...net.peers];
  if (attached && !names.includes(attached)) names.push(attached);
  select.replaceChildren(...names.map(n => {
    const value = n === self.name ? "" : n;
    return el("option", value === attached ? { value, selected: "" } : { value }, n);
  }));
}

window.addEventListener("hashchange", route);
document.getElementById("node-select").addEventListener("change", e => {
  attached = e.target.value;
  sessionStorage.setItem("ergo-node", attached);
  route();
});
if (params.get("node") !== null) { attached = params.get("node"); sessionStorage.setItem("ergo-node", attached); }
nodes().catch(e => setStatus(e.message, true));
api("/api/node").then(n => { document.getElementById("node-name").textContent = n.name; }).catch(e => setStatus(e.message, true));
route();
