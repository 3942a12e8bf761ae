// Skywarden operator console: the public API (docs/api.md) in a browser. No build step: a plain module.
import { AirMap, enuToLonLat } from './map.js';
import { el, fmtDuration, fmtNumber, LEVELS, pendingRequests, timelineEntries, isAcknowledged } from './model.js';

const TRAIL_POINTS = 60; // positions kept per track for its trail
const HISTORY_MAX = 3600; // picture samples kept for the replay scrubber
const HISTORY_STEP_S = 1.0; // minimum data time between two samples
const EVENTS_MAX = 5000; // events kept for the alert panel and the timeline
const KEPT_EVENTS = new Set(['ZoneViolation', 'ThreatRaised', 'TrackIdentified', 'TrackLost']);
const TOKEN_KEY = 'skywarden.token';

const $ = (id) => document.getElementById(id);

const S = {
  token: null, role: null, actor: null,
  site: null, assets: [], fmt: null, fmtLong: null,
  picture: { t: 0 }, view: [], lastKnown: new Map(), trails: new Map(),
  history: [], events: [], incidents: new Map(), actions: new Map(), seq: 0,
  selected: null, replay: null, sort: { key: 'threat', dir: -1 },
  ws: null, backoff: 1000, reconnectTimer: null, rejects: 0,
  dirty: { lists: true, alerts: true, timeline: true, requests: true }, mapQueued: false,
};
let airmap = null;

// ------------------------------------------------------------------ API

class ApiError extends Error {
  constructor(status, detail) { super(detail); this.status = status; }
}

function detailText(body, res) {
  const d = body && body.detail;
  if (typeof d === 'string') return d;
  if (Array.isArray(d)) return d.map((x) => `${(x.loc || []).slice(1).join('.')}: ${x.msg}`).join('; ');
  return `${res.status} ${res.statusText}`;
}

async function api(path, body) {
  const headers = { Authorization: `Bearer ${S.token}` };
  if (body) headers['Content-Type'] = 'application/json';
  const res = await fetch(`/api${path}`, { method: body ? 'POST' : 'GET', headers, body: body && JSON.stringify(body) });
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    const err = new ApiError(res.status, detailText(data, res));
    if (res.status === 401 && S.site) signOut(`Your token is no longer accepted (${err.message}). Sign in again.`);
    throw err;
  }
  return data;
}

/** POST an operator action; show the answer (the stored action) or the refusal. */
async function act(body, msgEl, success) {
  say(msgEl, 'Sending…');
  try {
    const action = await api('/actions', body);
    addAction(action);
    say(msgEl, success(action), 'ok');
    return action;
  } catch (err) {
    const what = err.status === 403 ? 'Refused' : err.status === 409 ? 'Already decided' : 'Failed';
    say(msgEl, `${what}: ${err.message}`, 'error');
    return null;
  }
}

function say(target, text, kind = '') {
  target.textContent = text;
  target.className = `msg ${kind}`;
  clearTimeout(target.clearTimer);
  if (kind && target.id !== 'login-msg') { // answers fade away; a refusal stays longer than a success
    target.clearTimer = setTimeout(() => say(target, ''), kind === 'error' ? 30000 : 12000);
  }
}

function setRole(role, actor) {
  S.role = role;
  S.actor = actor;
  const who = $('who');
  who.textContent = `${role}${S.actor ? ` · ${S.actor}` : ''}`;
  who.dataset.role = role;
  document.body.dataset.role = role;
}

// ------------------------------------------------------------------ sign in / out

async function signIn(token) {
  S.token = token;
  say($('login-msg'), 'Checking the token…');
  let me; let site; let assets;
  try {
    me = await api('/whoami'); // first alone: a wrong token is told once
    [site, assets] = await Promise.all([api('/site'), api('/assets')]);
  } catch (err) {
    S.token = null;
    const text = err.status === 401
      ? `Wrong token: the server does not accept it (${err.message}).`
      : `Cannot sign in: ${err.message || 'the server does not answer'}.`;
    say($('login-msg'), text, 'error');
    $('login').hidden = false;
    $('token').focus();
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  setRole(me.role, me.name);
  say($('login-msg'), '');
  $('login').hidden = true;
  $('session').hidden = false;
  applySite(site, assets);
  connect();
}

function signOut(message = '') {
  sessionStorage.removeItem(TOKEN_KEY);
  const ws = S.ws;
  S.ws = null;
  clearTimeout(S.reconnectTimer);
  if (ws) ws.close(1000, 'signed out');
  Object.assign(S, { token: null, role: null, actor: null, site: null, events: [], history: [], seq: 0 });
  S.incidents.clear(); S.actions.clear(); S.lastKnown.clear(); S.trails.clear();
  S.selected = null; S.replay = null; S.view = []; S.picture = { t: 0 };
  delete document.body.dataset.role;
  setConn('offline', 'off');
  $('session').hidden = true;
  $('login').hidden = false;
  say($('login-msg'), message, message ? 'error' : '');
  $('token').value = '';
  $('token').focus();
  markDirty();
}

function applySite(site, assets) {
  S.site = site;
  S.assets = assets;
  S.fmt = new Intl.DateTimeFormat('en-GB', { timeZone: site.timezone, hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
  S.fmtLong = new Intl.DateTimeFormat('en-GB', { timeZone: site.timezone, dateStyle: 'medium', timeStyle: 'long' });
  $('site-name').textContent = site.name;
  $('clock-tz').textContent = site.timezone;
  $('timeline-tz').textContent = `times in ${site.timezone}`;
  document.title = `Skywarden — ${site.name}`;
  if (airmap) {
    const first = !airmap.bounds;
    airmap.setSite(site, assets).then(() => { if (first) airmap.fit(); scheduleMap(); });
  }
}

async function reloadSite() {
  try {
    const [site, assets] = await Promise.all([api('/site'), api('/assets')]);
    applySite(site, assets);
  } catch { /* the next config message or reconnect tries again */ }
}

// ------------------------------------------------------------------ the stream

function setConn(text, kind) {
  const c = $('conn');
  c.textContent = text;
  c.className = `conn ${kind}`;
}

function connect() {
  clearTimeout(S.reconnectTimer);
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  // a browser cannot set a WebSocket's headers, and a URL ends up in logs: the token is the first message
  const ws = new WebSocket(`${proto}//${location.host}/api/stream`);
  let opened = false;
  S.ws = ws;
  setConn('connecting…', 'wait');
  ws.onopen = () => { opened = true; ws.send(JSON.stringify({ type: 'auth', token: S.token })); };
  ws.onmessage = (m) => {
    if (S.ws !== ws) return;
    S.backoff = 1000;
    handle(JSON.parse(m.data));
  };
  ws.onclose = async (ev) => {
    if (S.ws !== ws) return; // signed out or replaced
    if (ev.code === 4401 || ev.code === 4403) { signOut(`The stream refused the token: ${ev.reason}`); return; }
    if (!opened) { // a refused handshake looks like a network error to a browser: ask the API why
      try { await api('/site'); } catch (err) { if (err.status === 401) return; }
    }
    const wait = ev.code === 1013 ? 250 : S.backoff;
    S.backoff = Math.min(S.backoff * 2, 15000);
    setConn(`reconnecting in ${Math.round(wait / 1000)} s`, 'wait');
    S.reconnectTimer = setTimeout(() => { if (S.ws === ws) connect(); }, wait);
  };
}

function handle(msg) {
  switch (msg.type) {
    case 'snapshot': applySnapshot(msg); break;
    case 'picture': applyPicture(msg); break;
    case 'event': addEvent(msg.event); break;
    case 'incident': S.incidents.set(msg.incident.id, { ...msg.incident, seq: ++S.seq }); S.dirty.timeline = true; break;
    case 'action': addAction(msg.action); break;
    case 'config': reloadSite(); break;
    case 'reject': S.rejects += 1; $('rejects').textContent = `${S.rejects} rejected scan${S.rejects > 1 ? 's' : ''}`; break;
    default: break;
  }
}

function applySnapshot(msg) {
  setConn('live', 'on');
  const present = new Set(msg.picture.tracks.id);
  for (const id of [...S.trails.keys()]) if (!present.has(id)) S.trails.delete(id);
  applyPicture(msg.picture);
  // receipt order (seq) of what came before: by time, so that an acknowledgement covers the alerts before it
  const events = msg.events.filter((e) => KEPT_EVENTS.has(e.kind)).map((e) => ({ ...e }));
  const incidents = msg.incidents.map((i) => ({ ...i }));
  const actions = msg.actions.map((a) => ({ ...a }));
  const order = [...events.map((e) => [e.t, 0, e]), ...incidents.map((i) => [i.first_alert_t, 1, i]),
    ...actions.map((a) => [actionTime(a), 2, a])].sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  S.seq = 0;
  for (const [, , item] of order) item.seq = ++S.seq;
  S.events = events;
  S.incidents = new Map(incidents.map((i) => [i.id, i]));
  S.actions = new Map(actions.map((a) => [a.id, a]));
  prefillTrails(msg.picture);
  markDirty();
}

function addEvent(e) {
  if (!KEPT_EVENTS.has(e.kind)) return;
  S.events.push({ ...e, seq: ++S.seq });
  if (S.events.length > EVENTS_MAX) S.events.splice(0, S.events.length - EVENTS_MAX);
  S.dirty.timeline = true;
  if (e.kind === 'ZoneViolation') S.dirty.alerts = true;
}

function addAction(action) {
  if (S.actions.has(action.id)) return;
  S.actions.set(action.id, { ...action, seq: ++S.seq });
  S.dirty.alerts = S.dirty.timeline = S.dirty.requests = S.dirty.lists = true;
}

/** The picture's tracks (sent as columns: one array per field) as the console shows them, live and in replay. */
function viewTracks(p) {
  const c = p.tracks, th = c.threat;
  return c.id.map((id, i) => {
    const cls = c.classification[i] || 'unknown', prob = c.class_prob[i] || [];
    const k = p.classes.indexOf(cls);
    const [ve, vn] = c.velocity_enu_mps[i];
    return { id, status: c.status[i], lat: c.lat_deg[i], lon: c.lon_deg[i], alt: c.alt_m[i], speed: c.speed_mps[i],
      heading: ((Math.atan2(ve, vn) * 180) / Math.PI + 360) % 360, cls, conf: k >= 0 ? prob[k] : Math.max(0, ...prob),
      level: th.level[i] || 'none', asset: th.asset[i], tta: th.time_to_asset_s[i], closest: th.closest_approach_m[i],
      identity: c.identity[i], permit: c.permit[i], intruder: !!c.intruder[i] };
  });
}

/** How sure the class is: the classifier's probability, or the cooperative identity that declared it. */
function confText(t, short) {
  if (t.identity && !(t.conf >= 0.5)) return short ? 'ID' : 'declared by its Remote ID';
  return short ? `${fmtNumber(100 * t.conf, 0)}%` : `${fmtNumber(100 * t.conf, 0)}% confidence`;
}

const shown = (t) => t.status === 'confirmed' || t.status === 'coasting';

function applyPicture(p) {
  S.picture = p;
  S.view = viewTracks(p);
  for (const t of S.view) {
    if (!shown(t)) continue;
    S.lastKnown.set(t.id, { ...t, seen_t: p.t });
    const trail = S.trails.get(t.id) || [];
    const last = trail[trail.length - 1];
    if (!last || last[0] !== t.lon || last[1] !== t.lat) trail.push([t.lon, t.lat]);
    if (trail.length > TRAIL_POINTS) trail.splice(0, trail.length - TRAIL_POINTS);
    S.trails.set(t.id, trail);
  }
  const live = new Set(S.view.map((t) => t.id));
  for (const id of [...S.trails.keys()]) if (!live.has(id)) S.trails.delete(id);
  const prev = S.history[S.history.length - 1];
  if (!prev || p.t - prev.t >= HISTORY_STEP_S - 1e-6) {
    S.history.push({ t: p.t, arrival: p.arrival_unix ?? null, tracks: S.view.filter(shown) });
    if (S.history.length > HISTORY_MAX) {
      S.history.shift();
      if (S.replay !== null) S.replay = Math.max(0, S.replay - 1);
    }
  } else if (prev.t === p.t) {
    prev.tracks = S.view.filter(shown);
  }
  S.dirty.lists = true;
  scheduleMap();
}

/** Trails for the tracks of a first snapshot, from the server's down-sampled history (site ENU -> lon/lat). */
async function prefillTrails(picture) {
  const wanted = S.view.filter((t) => shown(t) && (S.trails.get(t.id) || []).length < 3);
  await Promise.all(wanted.slice(0, 40).map(async (t) => {
    try {
      const samples = await api(`/tracks/${encodeURIComponent(t.id)}/history?since=${picture.t - TRAIL_POINTS * 5}`);
      const older = samples.map((s) => enuToLonLat(S.site.reference, s.position_enu_m[0], s.position_enu_m[1]));
      const trail = S.trails.get(t.id);
      if (trail) S.trails.set(t.id, [...older, ...trail].slice(-TRAIL_POINTS));
    } catch { /* a trail is a nicety */ }
  }));
  scheduleMap();
}

// ------------------------------------------------------------------ what is on screen

/** The picture on screen: the live one, or a history sample while replaying. */
function frame() {
  if (S.replay === null || !S.history.length) {
    return { live: true, t: S.picture.t, tracks: S.view.filter(shown), trails: S.trails };
  }
  const i = Math.min(S.replay, S.history.length - 1);
  const sample = S.history[i];
  const trails = new Map(sample.tracks.map((t) => [t.id, []]));
  for (let k = Math.max(0, i - TRAIL_POINTS + 1); k <= i; k += 1) {
    for (const t of S.history[k].tracks) trails.get(t.id)?.push([t.lon, t.lat]);
  }
  return { live: false, t: sample.t, tracks: sample.tracks, trails };
}

/** Data time of an operator action: the service stamps actions with the picture's time (wall time is `wall_unix`). */
function actionTime(a) {
  return a.t;
}

const fmt = (t) => (S.fmt && Number.isFinite(t) ? S.fmt.format(new Date(t * 1000)) : '--:--:--');

function markDirty() { Object.keys(S.dirty).forEach((k) => { S.dirty[k] = true; }); scheduleMap(); }

function scheduleMap() {
  if (S.mapQueued) return;
  S.mapQueued = true;
  requestAnimationFrame(() => {
    S.mapQueued = false;
    if (!airmap) return;
    const f = frame();
    airmap.setTracks(f.tracks, f.trails, S.selected);
  });
}

function renderTick() {
  const f = frame();
  $('clock').textContent = S.picture.t ? fmt(f.t) : '--:--:--';
  if (S.fmtLong && f.t) $('clock').dateTime = new Date(f.t * 1000).toISOString();
  if (S.dirty.lists) { S.dirty.lists = false; renderTracks(f); renderDetails(f); renderScrubber(f); }
  if (S.dirty.alerts) { S.dirty.alerts = false; renderAlerts(f); }
  if (S.dirty.requests) { S.dirty.requests = false; renderRequests(f); }
  if (S.dirty.timeline) { S.dirty.timeline = false; renderTimeline(f); }
}

const levelRank = (t) => LEVELS.indexOf(t.level);
const SORTS = {
  threat: (a, b) => a.intruder - b.intruder || levelRank(a) - levelRank(b) || (b.tta ?? Infinity) - (a.tta ?? Infinity),
  id: (a, b) => a.id.localeCompare(b.id),
  cls: (a, b) => a.cls.localeCompare(b.cls),
  tta: (a, b) => (a.tta ?? Infinity) - (b.tta ?? Infinity),
  speed: (a, b) => a.speed - b.speed,
  alt: (a, b) => a.alt - b.alt,
};

const trackRows = new Map(); // id -> <tr>, kept across renders so that a click is never lost to a redraw

/** The row of track `t`, created once and updated in place (a cell is rebuilt only when its text changes). */
function trackRow(t) {
  let tr = trackRows.get(t.id);
  if (!tr) {
    tr = el('tr', { tabindex: '0', 'data-id': t.id }, el('td'), el('td'), el('td'), el('td'), el('td'), el('td'));
    tr.sig = [];
    trackRows.set(t.id, tr);
  }
  tr.dataset.class = t.cls;
  tr.dataset.level = t.level;
  tr.setAttribute('aria-selected', String(t.id === S.selected));
  tr.className = `${t.status}${t.intruder ? ' intruder' : ''}`;
  const cells = [
    [`${t.cls}|${t.id}`, () => [el('span', { class: `dot ${t.cls}`, 'aria-hidden': 'true' }), t.id]],
    [`${t.cls}|${confText(t, true)}`, () => [t.cls, el('span', { class: 'muted' }, ` ${confText(t, true)}`)]],
    [t.level, () => [el('span', { class: `level ${t.level}` }, t.level)]],
    [t.tta == null ? '—' : fmtDuration(t.tta)],
    [`${fmtNumber(t.speed, 0)} m/s`],
    [`${fmtNumber(t.alt, 0)} m`],
  ];
  cells.forEach(([sig, build], k) => {
    if (tr.sig[k] === sig) return;
    tr.sig[k] = sig;
    tr.cells[k].replaceChildren(...(build ? build() : [sig]));
  });
  return tr;
}

function renderTracks(f) {
  const rows = [...f.tracks].sort((a, b) => S.sort.dir * SORTS[S.sort.key](a, b) || a.id.localeCompare(b.id)).map(trackRow);
  const tbody = $('tracks').tBodies[0];
  const keep = new Set(rows);
  for (const [id, tr] of trackRows) if (!keep.has(tr)) { tr.remove(); trackRows.delete(id); }
  rows.forEach((tr, k) => { if (tbody.children[k] !== tr) tbody.insertBefore(tr, tbody.children[k] || null); });
  $('tracks-count').textContent = String(rows.length);
  for (const th of $('tracks').tHead.rows[0].cells) {
    th.setAttribute('aria-sort', th.dataset.sort === S.sort.key ? (S.sort.dir < 0 ? 'descending' : 'ascending') : 'none');
  }
}

function renderDetails(f) {
  const box = $('details');
  if (!S.selected) {
    box.replaceChildren(el('p', { class: 'muted' }, 'Select a track on the map, in the list or in an alert.'));
    $('mitigate').hidden = true;
    return;
  }
  const current = f.tracks.find((t) => t.id === S.selected);
  const t = current || (f.live ? S.lastKnown.get(S.selected) : null);
  $('mitigate').hidden = !f.live;
  if (!t) {
    box.replaceChildren(el('p', {}, el('strong', {}, S.selected),
      f.live ? ' — no position received yet.' : ` is not in the picture at ${fmt(f.t)}.`));
    return;
  }
  const status = current ? t.status : `lost (last seen ${fmt(t.seen_t)})`;
  const assetName = S.assets.find((a) => a.id === t.asset)?.name || t.asset;
  const rows = [
    ['Status', status],
    ['Class', `${t.cls} (${confText(t, false)})`],
    ['Threat', el('span', {}, el('span', { class: `level ${t.level}` }, t.level),
      t.asset ? ` ${assetName}${t.tta == null ? ' (not closing)' : ` in ${fmtDuration(t.tta)}`}` : '')],
    ['Closest approach', t.closest == null ? '—' : `${fmtNumber(t.closest, 0)} m`],
    ['Motion', `${fmtNumber(t.speed, 1)} m/s · heading ${fmtNumber(t.heading, 0)}° · alt ${fmtNumber(t.alt, 0)} m`],
    ['Identity', t.identity || 'none (non-cooperative)'],
    ['Permit', t.permit || (t.intruder ? 'none — intruder' : 'none')],
  ];
  box.replaceChildren(
    el('h3', { class: 'track-id' }, el('span', { class: `dot ${t.cls}`, 'aria-hidden': 'true' }), t.id,
      t.intruder ? el('span', { class: 'badge danger' }, 'intruder') : ''),
    el('dl', {}, ...rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)])));
}

/** Operator actions up to the moment on screen (all of them when live). */
function actionsInView(f) {
  const all = [...S.actions.values()];
  return f.live ? all : all.filter((a) => actionTime(a) <= f.t);
}

/** Intrusion alerts up to the moment on screen, newest first, each with the action that acknowledged it. */
function alertsAt(f) {
  const actions = actionsInView(f);
  return S.events.filter((e) => e.kind === 'ZoneViolation' && (f.live || e.t <= f.t))
    .map((e) => ({ e, ack: isAcknowledged(e, actions, S.incidents) })).reverse();
}

function renderAlerts(f) {
  const zones = new Map((S.site?.outline.features || []).map((z) => [z.properties.id, z.properties]));
  const alerts = alertsAt(f);
  const open = alerts.filter((a) => !a.ack);
  $('alerts-count').textContent = alerts.length ? `${open.length} open / ${alerts.length}` : '';
  $('alerts').replaceChildren(...alerts.map(({ e, ack }) => {
    const zone = zones.get(e.zone_id);
    return el('li', { class: `alert ${ack ? 'acked' : 'open'}`, 'data-track': e.track_id },
      el('div', { class: 'alert-head' },
        el('time', {}, fmt(e.t)),
        el('button', { type: 'button', class: 'link', 'data-select': e.track_id, title: 'Select this track' }, e.track_id),
        el('span', {}, e.classification),
        el('span', { class: `zone ${zone?.kind || ''}`, title: zone?.name || e.zone_id }, `in ${zone?.name || e.zone_id}`)),
      el('div', { class: 'alert-body' },
        e.asset_id ? `${e.asset_id}${e.time_to_asset_s == null ? '' : ` in ${fmtDuration(e.time_to_asset_s)}`}` : 'no asset',
        ack ? el('span', { class: 'acked-by' }, `acknowledged by ${ack.actor}`)
          : el('button', { type: 'button', class: 'danger small live-only', 'data-ack': e.track_id }, 'Acknowledge')));
  }));
  // the alarm is about now: it stays up while replaying
  const live = f.live ? open : alertsAt({ live: true }).filter((a) => !a.ack);
  $('alerts-panel').classList.toggle('alarming', live.length > 0);
  $('alarm').hidden = live.length === 0;
  if (live.length) {
    const { e } = live[0];
    const zone = zones.get(e.zone_id);
    $('alarm-text').textContent = `INTRUSION — ${e.track_id} (${e.classification}) in ${zone?.name || e.zone_id}`
      + `${e.asset_id && e.time_to_asset_s != null ? ` · ${fmtDuration(e.time_to_asset_s)} to ${e.asset_id}` : ''}`
      + `${live.length > 1 ? ` · ${live.length - 1} more open` : ''}`;
    $('alarm').dataset.track = e.track_id;
  }
}

function renderRequests(f) {
  const reqs = pendingRequests(actionsInView(f)).reverse();
  $('requests-count').textContent = reqs.length ? `${reqs.filter((r) => !r.decision).length} pending` : '';
  $('requests').replaceChildren(...reqs.map(({ request: r, decision: d }) => el('li',
    { class: `request ${d ? d.kind.split('_')[0] : 'pending'}`, 'data-request': String(r.id) },
    el('div', {}, el('strong', {}, `#${r.id}`), ` ${r.effector || '?'} on `,
      el('button', { type: 'button', class: 'link', 'data-select': r.track_id }, r.track_id),
      el('span', { class: 'muted' }, ` by ${r.actor}`)),
    d ? el('div', { class: 'decision' }, `${d.kind === 'authorise_mitigation' ? 'AUTHORISED' : 'DENIED'} by ${d.actor}`)
      : el('div', { class: 'buttons live-only' },
        el('button', { type: 'button', class: 'danger small', 'data-authorise': String(r.id) }, 'Authorise'),
        el('button', { type: 'button', class: 'ghost small', 'data-deny': String(r.id) }, 'Deny')))));
}

function renderTimeline(f) {
  const list = $('timeline');
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  const entries = timelineEntries(S.events, [...S.incidents.values()], [...S.actions.values()], actionTime)
    .filter((x) => f.live || x.t <= f.t);
  list.replaceChildren(...entries.map((x) => el('li', { class: `tl ${x.cls}`, title: x.title ? `${x.title} ${fmt(x.recorded)}` : '' },
    el('time', {}, fmt(x.t)), el('span', { class: 'tl-kind' }, x.label), el('span', { class: 'tl-text' }, x.text))));
  if (atBottom || !f.live) list.scrollTop = list.scrollHeight;
}

function renderScrubber(f) {
  const s = $('scrub');
  s.max = String(Math.max(0, S.history.length - 1));
  if (S.replay === null) s.value = s.max;
  $('scrub-time').textContent = S.history.length ? `${fmt(f.t)}${f.live ? ' (live)' : ''}` : 'no history yet';
  s.setAttribute('aria-valuetext', $('scrub-time').textContent);
  $('live').setAttribute('aria-pressed', String(f.live));
  $('replay-badge').hidden = f.live;
  $('replay-badge').textContent = `REPLAY ${fmt(f.t)}`;
  $('clock-mode').textContent = f.live ? 'LIVE' : 'REPLAY';
  $('clock-mode').className = `mode ${f.live ? 'live' : 'replay'}`;
  document.body.classList.toggle('replaying', !f.live);
}

// ------------------------------------------------------------------ user input

function select(id) {
  S.selected = id;
  say($('details-msg'), '');
  markDirty();
}

function acknowledge(trackId) {
  return act({ kind: 'acknowledge', track_id: trackId }, $('alerts-msg'), (a) => `Acknowledged ${a.track_id} (${a.role} ${a.actor}).`);
}

function wire() {
  $('login-form').addEventListener('submit', (e) => { e.preventDefault(); signIn($('token').value.trim()); });
  $('logout').addEventListener('click', () => signOut());
  $('fit').addEventListener('click', () => airmap?.fit(true));
  $('alarm-ack').addEventListener('click', () => acknowledge($('alarm').dataset.track));
  $('alarm-show').addEventListener('click', () => { S.replay = null; select($('alarm').dataset.track); });
  document.addEventListener('click', (e) => {
    const b = e.target.closest('button');
    if (!b) {
      const row = e.target.closest('#tracks tbody tr');
      if (row) select(row.dataset.id);
      return;
    }
    if (b.dataset.select) select(b.dataset.select);
    else if (b.dataset.ack) acknowledge(b.dataset.ack);
    else if (b.dataset.authorise) decide('authorise_mitigation', Number(b.dataset.authorise));
    else if (b.dataset.deny) decide('deny_mitigation', Number(b.dataset.deny));
  });
  $('tracks').tBodies[0].addEventListener('keydown', (e) => {
    const row = e.target.closest('tr');
    if (!row) return;
    if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); select(row.dataset.id); }
    if (e.key === 'ArrowDown') { e.preventDefault(); row.nextElementSibling?.focus(); }
    if (e.key === 'ArrowUp') { e.preventDefault(); row.previousElementSibling?.focus(); }
  });
  $('tracks').tHead.addEventListener('click', (e) => {
    const th = e.target.closest('th');
    if (!th) return;
    S.sort = th.dataset.sort === S.sort.key ? { key: S.sort.key, dir: -S.sort.dir }
      : { key: th.dataset.sort, dir: th.dataset.sort === 'threat' ? -1 : 1 };
    markDirty();
  });
  $('mitigate').addEventListener('submit', (e) => {
    e.preventDefault();
    const effector = $('effector').value;
    act({ kind: 'request_mitigation', track_id: S.selected, effector }, $('details-msg'),
      (a) => `Mitigation request #${a.id} sent: ${a.effector} on ${a.track_id}; awaiting a commander.`);
  });
  $('scrub').addEventListener('input', () => {
    const v = Number($('scrub').value);
    S.replay = v >= S.history.length - 1 && S.replay === null ? null : v;
    markDirty();
  });
  $('live').addEventListener('click', () => { S.replay = null; markDirty(); });
  window.addEventListener('keydown', (e) => { if (e.key === 'Escape' && S.replay !== null) { S.replay = null; markDirty(); } });
}

function decide(kind, requestId) {
  const verb = kind === 'authorise_mitigation' ? 'Authorised' : 'Denied';
  return act({ kind, request_id: requestId }, $('requests-msg'),
    (a) => `${verb} request #${requestId}: ${a.effector || ''} on ${a.track_id || '?'} (${a.role} ${a.actor}).`);
}

function start() {
  wire();
  try {
    if (!window.maplibregl) throw new Error('MapLibre GL is not installed: `make run` or `make test` puts it in web/vendor/');
    airmap = new AirMap($('map'), select);
  } catch (err) {
    airmap = null;
    $('map-error').hidden = false;
    $('map-error').textContent = `The map cannot be drawn (${err.message}). Lists, alerts and actions still work.`;
  }
  setInterval(renderTick, 200);
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) signIn(token); else $('token').focus();
}

start();
