// The live tie page: the tie's state on load (GET /v1/live/...), then every alert from the SSE
// stream (GET /v1/stream), reconnecting with the last stream id. No build step, no framework.
"use strict";

const PHASES = {
  scheduled: "Not started", first_half: "First half", half_time: "Half-time",
  second_half: "Second half", extra_time: "Extra time", penalties: "Penalties",
  finished: "Full-time", postponed: "Postponed", cancelled: "Cancelled",
  abandoned: "Abandoned", suspended: "Suspended",
};
const IN_PLAY = new Set(["first_half", "second_half", "extra_time", "penalties"]);
const PHASE_KINDS = new Set(["kickoff", "half_time", "second_half", "full_time", "extra_time", "result", "status"]);
const MAX_BACKOFF_MS = 15000;
const MAX_DELAY_S = 900;
const DELAY_KEY = "nf_delay_s"; // this browser's "my stream is N s behind", in localStorage

const $ = (id) => document.getElementById(id);

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

function minute(m, added) {
  if (m === null || m === undefined) return "";
  return added ? `${m}+${added}'` : `${m}'`;
}

// Mirrors notifier.render.aggregate: "Dortmund lead 2-1 on aggregate", "2-2 on aggregate".
function headline(s) {
  if (!s.aggregate) return s.leader && s.status !== "finished" ? `${s.leader} lead` : "";
  const h = s.aggregate[s.home] || 0, a = s.aggregate[s.away] || 0;
  if (!s.leader || h === a) {
    if (s.leader && h === a && !s.shootout) {
      return `${s.leader} lead on away goals (${h}-${a} on aggregate)`;
    }
    return `${h}-${a} on aggregate`;
  }
  return `${s.leader} lead ${Math.max(h, a)}-${Math.min(h, a)} on aggregate`;
}

function goalRef(alert) {
  const g = (alert.data && alert.data.goal) || {};
  return g.ref || `${alert.data && alert.data.side}:${alert.minute}`;
}

class Board {
  constructor(initial) {
    this.tie = initial.tie;
    this.match = initial.match;
    this.home = initial.home;
    this.away = initial.away;
    this.teams = initial.teams || {};
    this.firstLeg = initial.first_leg || null;
    this.competition = initial.competition || "";
    this.nextRound = initial.next_round || null;
    this.now = Object.assign({ score: { home: 0, away: 0 }, status: "scheduled" }, initial.now || {});
    this.aggregate = initial.aggregate || null;
    this.leader = initial.leader || null;
    this.needs = initial.needs || null;
    this.headline = initial.headline || "";
    this.result = null;
    this.lastId = initial.last_id || null;
    this.seen = new Set();
    this.goals = new Map(); // goal ref -> timeline entry
    this.timeline = [];
    this.kicks = { home: [], away: [] };
    (initial.timeline || []).forEach((alert) => this.apply(alert));
  }

  apply(alert) {
    if (this.seen.has(alert.id)) return false;
    this.seen.add(alert.id);
    if (alert.home) { this.home = alert.home; this.away = alert.away; }
    if (alert.competition) this.competition = alert.competition;
    this.now = {
      score: alert.score, status: alert.status, minute: alert.minute, added: alert.added,
      shootout: alert.shootout,
    };
    this.aggregate = alert.aggregate;
    this.leader = alert.leader;
    this.needs = alert.needs;
    this.headline = headline({
      aggregate: alert.aggregate, leader: alert.leader, home: this.home, away: this.away,
      status: alert.status, shootout: alert.shootout,
    });
    if (alert.kind === "result") this.result = alert.text;
    this.record(alert);
    return true;
  }

  record(alert) {
    const d = alert.data || {};
    const at = minute(alert.minute, alert.added);
    if (alert.kind === "goal") {
      const entry = { kind: "goal", at, side: d.side, goal: d.goal || {}, score: alert.score, cancelled: false };
      this.goals.set(goalRef(alert), entry);
      this.timeline.push(entry);
    } else if (alert.kind === "goal_cancelled") {
      const entry = this.goals.get(goalRef(alert));
      if (entry) entry.cancelled = true;
      else this.timeline.push({ kind: "phase", at, text: alert.text });
    } else if (alert.kind === "red_card" || alert.kind === "penalty_missed") {
      this.timeline.push({ kind: alert.kind, at, side: d.side, player: d.player, text: alert.text });
    } else if (alert.kind === "shootout" && d.side) {
      this.kicks[d.side].push({ player: d.player, scored: !!d.scored, order: d.order });
    } else if (PHASE_KINDS.has(alert.kind)) {
      this.timeline.push({ kind: "phase", at, text: alert.text });
    }
  }

  name(side) { return side === "home" ? this.home : this.away; }

  style(name) { return this.teams[name] || null; }
}

// ---- rendering ------------------------------------------------------------------------------

function paintTeam(board, side) {
  const name = board.name(side);
  const style = board.style(name);
  const root = document.documentElement.style;
  if (style) {
    root.setProperty(`--${side}-bg`, style.colour);
    root.setProperty(`--${side}-fg`, style.text);
  }
  $(`${side}-name`).textContent = name;
  $(`${side}-crest`).textContent = (style && style.short) || name.slice(0, 3).toUpperCase();
}

function renderScore(board) {
  const now = board.now;
  paintTeam(board, "home");
  paintTeam(board, "away");
  $("score-home").textContent = now.score.home;
  $("score-away").textContent = now.score.away;
  const pens = $("pens");
  pens.hidden = !now.shootout;
  if (now.shootout) pens.textContent = `Penalties ${now.shootout.home}–${now.shootout.away}`;
  const clock = $("clock");
  clock.textContent = [PHASES[now.status] || now.status, IN_PLAY.has(now.status) ? minute(now.minute, now.added) : ""]
    .filter(Boolean).join(" · ");
  clock.classList.toggle("live", IN_PLAY.has(now.status));
  const comp = [board.competition, board.nextRound ? `winner reaches ${board.nextRound}` : ""];
  $("competition").textContent = comp.filter(Boolean).join(" · ");
}

function renderAggregate(board) {
  const agg = $("agg");
  agg.hidden = !board.aggregate;
  if (board.aggregate) {
    $("agg-home").textContent = board.aggregate[board.home] || 0;
    $("agg-away").textContent = board.aggregate[board.away] || 0;
  }
  $("headline").textContent = board.result || board.headline;
  $("needs").textContent = board.needs || "";
}

function renderLegs(board) {
  const legs = $("legs");
  legs.replaceChildren();
  const add = (label, text) => {
    const li = el("li");
    li.append(el("span", "leg-name", label), el("span", "leg-score", text));
    legs.append(li);
  };
  if (board.firstLeg) {
    const f = board.firstLeg;
    add("1st leg", `${f.home} ${f.score.home}-${f.score.away} ${f.away}`);
  }
  const s = board.now.score;
  const state = board.now.status === "finished" ? "" : ` (${PHASES[board.now.status] || board.now.status})`;
  add(board.firstLeg ? "2nd leg" : "Match", `${board.home} ${s.home}-${s.away} ${board.away}${state}`);
}

function renderKicks(board) {
  const any = board.kicks.home.length + board.kicks.away.length > 0;
  $("shootout").hidden = !any;
  for (const side of ["home", "away"]) {
    $(`kicks-${side}-name`).textContent = board.name(side);
    const list = $(`kicks-${side}`);
    list.replaceChildren(...board.kicks[side].map((k) => {
      const li = el("li", `kick ${k.scored ? "scored" : "missed"}`, k.scored ? "●" : "✕");
      li.title = `${k.player || "?"}: ${k.scored ? "scored" : "missed"}`;
      return li;
    }));
  }
}

function goalText(board, entry) {
  const g = entry.goal;
  const extra = g.kind === "penalty" ? " (pen)" : g.kind === "own_goal" ? " (og)" : "";
  const who = `${g.player || "Goal"}${extra} · ${board.name(entry.side)}`;
  return `${who}  ${entry.score.home}-${entry.score.away}`;
}

function timelineRow(board, entry) {
  const li = el("li", entry.kind + (entry.cancelled ? " cancelled" : ""));
  li.append(el("span", "min", entry.at));
  const icon = el("span", "icon");
  const what = el("span", "what");
  if (entry.kind === "goal") {
    icon.append(el("span", "ball"));
    const text = entry.cancelled ? el("del", null, goalText(board, entry)) : document.createTextNode(goalText(board, entry));
    what.append(text);
    if (entry.cancelled) what.append(el("span", "var", "VAR: no goal"));
  } else if (entry.kind === "red_card") {
    icon.append(el("span", "card"));
    what.textContent = `${entry.player || "Red card"} · ${board.name(entry.side)}`;
  } else if (entry.kind === "penalty_missed") {
    icon.append(el("span", "miss", "✕"));
    what.textContent = `Penalty missed: ${entry.player || "?"} · ${board.name(entry.side)}`;
  } else {
    li.classList.add("phase");
    what.textContent = entry.text;
  }
  li.append(icon, what);
  return li;
}

function render(board) {
  renderScore(board);
  renderAggregate(board);
  renderLegs(board);
  renderKicks(board);
  $("timeline").replaceChildren(...board.timeline.slice().reverse().map((e) => timelineRow(board, e)));
  document.title = `${board.home} ${board.now.score.home}-${board.now.score.away} ${board.away} · live`;
}

// ---- connection -----------------------------------------------------------------------------

function setConnection(state, text) {
  const conn = $("conn");
  conn.dataset.state = state;
  $("conn-text").textContent = text;
  $("offline").hidden = state !== "offline";
}

// How far behind this browser's stream is (a spoiler delay), kept in localStorage.
function storedDelay() {
  let n = 0;
  try { n = parseInt(localStorage.getItem(DELAY_KEY) || "0", 10); } catch (e) { n = 0; }
  return Number.isFinite(n) ? Math.min(Math.max(n, 0), MAX_DELAY_S) : 0;
}

function storeDelay(n) {
  try { localStorage.setItem(DELAY_KEY, String(n)); } catch (e) { /* private mode: this visit only */ }
}

// The board as it stood before the match, for a stream behind: every alert then comes from the
// stream (GET /v1/stream?delay=N from the start), each N s after it happened.
function delayedStart(initial) {
  return Object.assign({}, initial, {
    now: null, aggregate: null, leader: null, needs: null, headline: "", timeline: [], last_id: "0",
  });
}

function follow(board, delay) {
  let backoff = 1000;
  let source = null;
  let stopped = false;
  const open = () => {
    if (stopped) return;
    const params = new URLSearchParams();
    if (board.tie) params.set("tie", board.tie);
    else params.set("match", board.match);
    if (board.lastId) params.set("last_event_id", board.lastId);
    if (delay > 0) params.set("delay", String(delay));
    if (PAGE_LANG) params.set("lang", PAGE_LANG);  // else the server reads Accept-Language
    source = new EventSource(`/v1/stream?${params}`, { withCredentials: true });
    const live = delay > 0 ? `Live · ${delay} s behind` : "Live";
    source.onopen = () => { backoff = 1000; setConnection("live", live); };
    source.addEventListener("alert", (ev) => {
      if (ev.lastEventId) board.lastId = ev.lastEventId;
      if (board.apply(JSON.parse(ev.data))) render(board);
    });
    source.onerror = () => {
      source.close();
      if (stopped) return;
      const wait = backoff;
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      setConnection("offline", `Offline · retrying in ${Math.round(wait / 1000)} s`);
      setTimeout(() => { setConnection("connecting", "Reconnecting…"); open(); }, wait);
    };
  };
  open();
  return () => { stopped = true; if (source) source.close(); };
}

// ---- boot -----------------------------------------------------------------------------------

// The page's language: ?lang= on its address, else the browser's (sent as Accept-Language).
const PAGE_LANG = new URLSearchParams(location.search).get("lang");

async function getJSON(url) {
  if (PAGE_LANG) url += (url.includes("?") ? "&" : "?") + `lang=${encodeURIComponent(PAGE_LANG)}`;
  const resp = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!resp.ok) throw new Error(`${url}: HTTP ${resp.status}`);
  return resp.json();
}

async function showBoard(url) {
  const input = $("delay");
  let stop = null;
  const start = async (delay) => {
    if (stop) stop();
    const initial = await getJSON(url); // as it stands now: a stream behind starts before it
    $("board").hidden = false;
    const board = new Board(delay > 0 ? delayedStart(initial) : initial);
    render(board);
    stop = follow(board, delay);
    window.liveBoard = board; // for people poking at it from the console
  };
  input.value = String(storedDelay());
  input.addEventListener("change", () => {
    const n = Math.min(Math.max(parseInt(input.value || "0", 10) || 0, 0), MAX_DELAY_S);
    input.value = String(n);
    storeDelay(n);
    setConnection("connecting", "Reconnecting…");
    start(n).catch((err) => setConnection("offline", `Error: ${err.message}`));
  });
  await start(storedDelay());
}

async function showIndex() {
  const ties = await getJSON("/v1/live/ties");
  if (ties.length === 1) return showBoard(`/v1/live/ties/${encodeURIComponent(ties[0].tie)}`);
  $("index").hidden = false;
  setConnection("ended", "Not following");
  $("empty").hidden = ties.length > 0;
  $("ties").replaceChildren(...ties.map((t) => {
    const a = el("a", null, t.title);
    a.href = `/ties/${encodeURIComponent(t.tie)}`;
    const li = el("li");
    li.append(a);
    return li;
  }));
  return undefined;
}

function boot() {
  const path = decodeURIComponent(location.pathname);
  let shown;
  if (path.startsWith("/ties/")) shown = showBoard(`/v1/live/ties/${encodeURIComponent(path.slice(6))}`);
  else if (path.startsWith("/matches/")) shown = showBoard(`/v1/live/matches/${encodeURIComponent(path.slice(9))}`);
  else shown = showIndex();
  shown.catch((err) => {
    setConnection("offline", "Error");
    const failure = $("failure");
    failure.hidden = false;
    failure.textContent = `Could not load the tie: ${err.message}`;
  });
}

boot();
