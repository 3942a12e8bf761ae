// Pure helpers of the console: DOM building, number formats, and what the alerts, mitigation requests and
// the timeline are, derived from the events and operator actions the API sends.

export const LEVELS = ['none', 'low', 'medium', 'high', 'critical'];

/** `el('tr', {class: 'x'}, child, 'text', …)`: an element; text always goes in as text, never as HTML. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) node.setAttribute(k, v);
  for (const c of children) if (c !== '' && c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
  return node;
}

export function fmtNumber(v, digits = 0) {
  return Number.isFinite(v) ? v.toFixed(digits) : '—';
}

export function fmtDuration(s) {
  if (!Number.isFinite(s)) return '—';
  if (s < 90) return `${Math.round(s)} s`;
  return `${Math.floor(s / 60)} min ${String(Math.round(s % 60)).padStart(2, '0')} s`;
}

/** The acknowledge action that covers alert `e` (on its track or its incident, sent after it), or null. */
export function isAcknowledged(e, actions, incidents) {
  for (const a of actions) {
    if (a.kind !== 'acknowledge' || a.seq <= e.seq) continue;
    if (a.track_id === e.track_id) return a;
    if (a.incident_id && incidents.get(a.incident_id)?.track_ids.includes(e.track_id)) return a;
  }
  return null;
}

/** Mitigation requests in order, each with the action that decided it (authorise/deny) or null. */
export function pendingRequests(actions) {
  const decisions = new Map();
  for (const a of actions) {
    if ((a.kind === 'authorise_mitigation' || a.kind === 'deny_mitigation') && !decisions.has(a.request_id)) {
      decisions.set(a.request_id, a);
    }
  }
  return actions.filter((a) => a.kind === 'request_mitigation').sort((a, b) => a.id - b.id)
    .map((request) => ({ request, decision: decisions.get(request.id) || null }));
}

const ACTION_LABELS = {
  acknowledge: 'ACK', annotate: 'NOTE', request_mitigation: 'REQUEST', authorise_mitigation: 'AUTHORISED',
  deny_mitigation: 'DENIED',
};

function actionText(a) {
  const who = `${a.actor} (${a.role})`;
  const on = a.track_id || a.incident_id || '';
  switch (a.kind) {
    case 'acknowledge': return `${who} acknowledged the alert on ${on}`;
    case 'annotate': return `${who} on ${on}: ${a.note}`;
    case 'request_mitigation': return `${who} requested mitigation #${a.id}: ${a.effector || '?'} on ${on}`;
    case 'authorise_mitigation': return `${who} authorised mitigation #${a.request_id}: ${a.effector || '?'} on ${on}`;
    case 'deny_mitigation': return `${who} denied mitigation #${a.request_id} (${a.effector || '?'} on ${on})`;
    default: return `${who}: ${a.kind.replaceAll('_', ' ')}${a.item_id ? ` ${a.item_id}` : ''}`;
  }
}

/** Events worth an operator's eye, incidents and operator actions, in time order (actions at `actionTime(a)`). */
export function timelineEntries(events, incidents, actions, actionTime) {
  const alerted = new Set(events.filter((e) => e.kind === 'ZoneViolation').map((e) => e.track_id));
  const out = [];
  for (const e of events) {
    const tta = e.time_to_asset_s == null ? '' : ` in ${fmtDuration(e.time_to_asset_s)}`;
    if (e.kind === 'ZoneViolation') {
      out.push({ t: e.t, seq: e.seq, cls: 'tl-alert', label: 'ALERT',
        text: `${e.track_id} (${e.classification}) inside ${e.zone_id}${e.asset_id ? ` · ${e.asset_id}${tta}` : ''}` });
    } else if (e.kind === 'ThreatRaised' && LEVELS.indexOf(e.level) >= 2) {
      out.push({ t: e.t, seq: e.seq, cls: `tl-threat ${e.level}`, label: 'THREAT',
        text: `${e.track_id} ${e.level} to ${e.asset_id}${tta}, closest ${Math.round(e.closest_approach_m)} m` });
    } else if (e.kind === 'TrackIdentified') {
      out.push({ t: e.t, seq: e.seq, cls: 'tl-identity', label: 'IDENTITY',
        text: `${e.track_id} is ${e.uas_id}${e.permit_id ? `, permit ${e.permit_id}` : ', no permit'}` });
    } else if (e.kind === 'TrackLost' && alerted.has(e.track_id)) {
      out.push({ t: e.t, seq: e.seq, cls: 'tl-lost', label: 'LOST', text: `${e.track_id} lost` });
    }
  }
  for (const i of incidents) {
    out.push({ t: i.first_alert_t, seq: i.seq, cls: 'tl-incident', label: 'INCIDENT',
      text: `${i.id}: ${i.track_ids.join(', ')} in ${i.zone_ids.join(', ')}` });
  }
  for (const a of actions) {
    out.push({ t: actionTime(a), seq: a.seq, cls: `tl-action ${a.kind}`, label: ACTION_LABELS[a.kind] || 'ACTION',
      text: actionText(a), title: 'recorded at', recorded: a.t });
  }
  return out.sort((a, b) => a.t - b.t || a.seq - b.seq);
}
