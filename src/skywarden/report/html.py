"""Incident report: one self-contained HTML file (inline CSS, inline SVG figures) from a run record.

Built from the :class:`~skywarden.history.RunRecord` and its :func:`~skywarden.metrics.summarize`
dict only, with no network resource and no clock read, so the same record always gives the same file.
Figures are plain :class:`matplotlib.figure.Figure` objects (no pyplot state to leak or close).
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from importlib.resources import files
from pathlib import Path
from string import Template
from typing import Any
from zoneinfo import ZoneInfo

import matplotlib as mpl
import matplotlib.dates as mdates
import matplotlib.path as mpath
import matplotlib.ticker as mticker
import numpy as np
import shapely
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, PathPatch, Rectangle
from matplotlib.patches import Polygon as PolygonPatch
from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar
from numpy.typing import ArrayLike, NDArray
from shapely.geometry import Point, Polygon, box
from shapely.geometry.polygon import orient

import skywarden
from skywarden.airspace.assets import AssetSet
from skywarden.events import Event, ThreatRaised, TrackClassified, TrackIdentified, ZoneViolation
from skywarden.history import RunRecord, TrackHistory
from skywarden.metrics import COASTING, CONFIRMED, Assignment, asset_distances_m, assign, scan_index

CLASS_COLOURS = {"drone": "#d62728", "bird": "#2ca02c", "aircraft": "#1f77b4", "vehicle": "#8c564b", "unknown": "#8c8c8c"}
QUIET_KINDS = ("bird", "vehicle")
TRUTH_COLOURS = {"drone": "#6d0f0f", "bird": "#14521d", "aircraft": "#0b3566", "vehicle": "#4a2e28"}
ZONE_COLOURS = {"no-fly": "#c62828", "restricted": "#ef6c00", "advisory": "#c9a000"}
TRACK_CYCLE = ("#d62728", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2")
MARKS: dict[str, tuple[str, dict[str, Any]]] = {  # key moment -> (label, matplotlib marker style)
    "detected": ("first detection", {"marker": "o", "mfc": "white", "mec": "black", "ms": 7}),
    "confirmed": ("track confirmed", {"marker": "s", "color": "black", "ms": 6}),
    "alert": ("intrusion alert", {"marker": "*", "color": "#e00000", "mec": "black", "mew": 0.6, "ms": 14}),
    "reached": ("asset reached", {"marker": "X", "color": "black", "ms": 8}),
}
_KEY_OF = {"detected": "first_detected_t", "confirmed": "confirmed_t", "alert": "alert_t", "reached": "reached_asset_t"}
_RC: dict[Any, Any] = {"svg.fonttype": "none", "font.size": 10, "axes.titlesize": 11, "axes.titleweight": "bold"}


@dataclass(frozen=True)
class _Run:
    """What every section needs, computed once."""

    record: RunRecord
    summary: dict[str, Any]
    assignment: Assignment
    tz: ZoneInfo
    truth_rows: dict[str, dict[str, Any]]  # summary per_truth by truth id
    alerts: list[tuple[str, dict[str, Any], tuple[float, float, float] | None]]  # label, row, ENU m

    @property
    def drones(self) -> list[str]:
        return [k for k, h in self.record.truths.items() if h.kind == "drone"]


def write_report(record: RunRecord, summary: dict[str, Any], path: Path) -> Path:
    """Render the incident report of one run to ``path`` (a single self-contained HTML file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(record, summary), encoding="utf-8")
    return path


def render_report(record: RunRecord, summary: dict[str, Any]) -> str:
    """The incident report of one run as one self-contained HTML page."""
    run = _prepare(record, summary)
    site = record.site
    t0, t1 = (float(record.scan_times[0]), float(record.scan_times[-1])) if len(record.scan_times) else (0.0, 0.0)
    title = f"Skywarden incident report — {summary['scenario']}"
    page = Template((files("skywarden.report") / "report.html").read_text(encoding="utf-8")).substitute(
        version=escape(skywarden.__version__),
        title=escape(title),
        css=(files("skywarden.report") / "report.css").read_text(encoding="utf-8"),
        subtitle=escape(f"{site.name} · {_stamp(t0, run.tz)[:10]} · {len(run.drones)} drone(s), "
                        f"{len(summary['alerts'])} alert(s)"),
        meta=_meta(run, t0, t1),
        cards=_cards(run),
        map=_figure_html(_map_figure(run), "map", "map", caption=(
            f"Axes: kilometres east and north of the site reference point ({site.reference.lat_deg:.5f}, "
            f"{site.reference.lon_deg:.5f}). Zones: red outline no-fly, orange restricted, yellow advisory; "
            "the label gives the altitude band in metres above the reference point.")),
        timeline=_figure_html(_timeline_figure(run), "timeline", "timeline"),
        alerts=_alerts_table(run),
        events=_events_table(run),
        targets="\n".join(_target_html(run, tid) for tid in run.drones) or '<p class="none">No drone in this run.</p>',
        objects=_objects_table(run),
        site=_site_tables(run),
        footer=escape(f"Skywarden {skywarden.__version__} · built from the run record alone (scenario "
                      f"{summary['scenario']}, seed {summary['seed']}); the same record gives the same file."),
    )
    return page


def _prepare(record: RunRecord, summary: dict[str, Any]) -> _Run:
    positions = {(round(e.t, 6), e.track_id, e.zone_id): e.position_enu_m
                 for e in record.events if isinstance(e, ZoneViolation)}
    alerts = [(f"A{i + 1}", row, positions.get((round(row["t"], 6), row["track_id"], row["zone"])))
              for i, row in enumerate(summary["alerts"])]
    return _Run(record, summary, assign(record), record.site.tz,
                {row["truth_id"]: row for row in summary["per_truth"]}, alerts)


# ---------------------------------------------------------------- time and text helpers

def _stamp(t: float, tz: ZoneInfo | dt.timezone) -> str:
    return dt.datetime.fromtimestamp(t, tz).strftime("%Y-%m-%d %H:%M:%S %Z")


def _clock(t: float | None, tz: ZoneInfo | dt.timezone) -> str:
    if t is None:
        return "—"
    d = dt.datetime.fromtimestamp(t, tz)
    return d.strftime("%H:%M:%S.") + str(d.microsecond // 100_000)


def _secs(x: float | None) -> str:
    return "—" if x is None else f"{x:.0f} s" if abs(x) >= 10 else f"{x:.1f} s"


def _diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def _table(head: Sequence[str], rows: Iterable[tuple[Sequence[str], str]], num: Sequence[int] = ()) -> str:
    """HTML table from already-escaped cells; each row comes with a CSS class ('' for none)."""
    th = "".join(f'<th class="num">{h}</th>' if i in num else f"<th>{h}</th>" for i, h in enumerate(head))
    body = "\n".join(
        (f'<tr class="{cls}">' if cls else "<tr>") + "".join(f'<td class="num">{c}</td>' if i in num else f"<td>{c}</td>"
                                        for i, c in enumerate(cells)) + "</tr>"
        for cells, cls in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>\n{body}\n</tbody></table>"


def _tz_label(run: _Run) -> str:
    t0 = float(run.record.scan_times[0]) if len(run.record.scan_times) else 0.0
    return dt.datetime.fromtimestamp(t0, run.tz).strftime("%Z")


# ---------------------------------------------------------------- header

def _meta(run: _Run, t0: float, t1: float) -> str:
    rec, tz = run.record, run.tz
    period = float(np.median(np.diff(rec.scan_times))) if len(rec.scan_times) > 1 else 0.0
    items = [
        ("Site", escape(rec.site.name)),
        ("Scenario · seed", f"{escape(rec.scenario)} · {rec.seed}"),
        ("Time span (UTC)", f"{_stamp(t0, dt.UTC)} → {_stamp(t1, dt.UTC)} ({t1 - t0:.0f} s)"),
        (f"Time span (local, {escape(rec.site.timezone)})", f"{_stamp(t0, tz)} → {_stamp(t1, tz)}"),
        ("Scans", f"{len(rec.scan_times)} (every {period:.2f} s)"),
        ("Software", f"Skywarden {escape(skywarden.__version__)}"),
        ("Site config SHA-256", f'<code>{rec.site.digest()}</code>'),
    ]
    return "\n".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in items)


def _cards(run: _Run) -> str:
    rows = [run.truth_rows[d] for d in run.drones if d in run.truth_rows]
    detected = sum(r["first_detected_t"] is not None for r in rows)
    alerted = sum(r["alert_t"] is not None for r in rows)
    on_drones = sum(a["truth_id"] in run.drones for _, a, _ in run.alerts)
    reached = [r for r in rows if r["reached_asset_t"] is not None]
    warnings = [_diff(r["reached_asset_t"], r["alert_t"]) for r in reached]
    if not reached:
        warn, warn_sub, bad = "—", "no drone reached an asset", False
    elif any(w is None or w <= 0 for w in warnings):
        warn, bad = "none", True
        warn_sub = ", ".join(f"{r['truth_id']}: {_secs(w) if w is not None and w > 0 else 'no warning'}"
                             for r, w in zip(reached, warnings, strict=True))
    else:
        warn, bad = _secs(min(w for w in warnings if w is not None)), False
        warn_sub = "shortest over drones that reached an asset: " + ", ".join(
            f"{r['truth_id']} {_secs(w)}" for r, w in zip(reached, warnings, strict=True))
    cards = [
        ("Drones", str(len(rows)), f"{detected} detected · {alerted} alerted", False),
        ("Intrusion alerts", str(len(run.alerts)),
         f"{on_drones} on drones · {len(run.alerts) - on_drones} on other objects or no object", False),
        ("Warning before asset reached", warn, warn_sub, bad),
        ("GOSPA mean", "—" if run.summary["gospa_mean_m"] is None else f"{run.summary['gospa_mean_m']:.1f} m",
         f"tracking error per scan (c = {run.assignment.c:.0f} m, p = 2, α = 2); lower is better", False),
    ]
    return "\n".join(
        f'<div class="card{" bad" if b else ""}"><div class="label">{escape(k)}</div>'
        f'<div class="value">{escape(v)}</div><div class="sub">{escape(s)}</div></div>'
        for k, v, s, b in cards)


# ---------------------------------------------------------------- figures

def _figure_html(fig: Figure | None, name: str, cls: str, caption: str = "") -> str:
    """Inline SVG of a figure, stripped of its XML prolog, metadata and namespace URLs."""
    if fig is None:
        return f'<p class="none">Nothing to draw for the {escape(name)}.</p>'
    buf = io.StringIO()
    with mpl.rc_context(_RC):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    svg = re.sub(r'\s+xmlns(:xlink)?="[^"]*"', "", svg)
    # matplotlib hashes clip boxes to ids, which float noise in the layout can change: number them instead
    ids: dict[str, str] = {}
    prefix = re.sub(r"[^A-Za-z0-9_-]", "_", name)
    svg = re.sub(r'(id="|#)([pm][0-9a-f]{10})\b',
                 lambda m: m[1] + ids.setdefault(m[2], f"{prefix}-{m[2][0]}{len(ids)}"), svg)
    cap = f"<figcaption>{escape(caption)}</figcaption>" if caption else ""
    return f'<figure class="{cls}" role="img" aria-label="{escape(name)}">\n{svg}{cap}</figure>'


def _new_figure(w_in: float, h_in: float) -> Figure:
    with mpl.rc_context(_RC):
        return Figure(figsize=(w_in, h_in), layout="constrained")


def _time_axis(ax: Axes, run: _Run) -> None:
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(tz=run.tz, minticks=5, maxticks=12))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M:%S", tz=run.tz))
    ax.set_xlabel(f"local time ({_tz_label(run)}, {run.record.site.timezone})")


def _days(t: NDArray[np.float64] | float) -> Any:
    """UTC seconds -> matplotlib date numbers (days since 1970-01-01, matplotlib's default epoch)."""
    return np.asarray(t, float) / 86400.0


def _live_runs(h: TrackHistory) -> list[tuple[NDArray[np.int64], str]]:
    """Confirmed/coasting stretches of a track split where the class changes: (sample indices, class)."""
    idx = np.flatnonzero(np.isin(h.status, (CONFIRMED, COASTING)))
    if not len(idx):
        return []
    cls = np.asarray(h.classification, dtype=object)[idx]
    new_seg = np.r_[True, (np.diff(h.scan[idx]) != 1) | (np.diff(idx) != 1)]
    starts = np.flatnonzero(new_seg | np.r_[True, cls[1:] != cls[:-1]])
    ends = np.r_[starts[1:], len(idx)]
    return [(idx[a - 1 if a > 0 and not new_seg[a] else a:b], str(cls[a])) for a, b in zip(starts, ends, strict=True)]


def _km(enu_m: ArrayLike) -> NDArray[np.float64]:
    """ENU metres (..., 3) -> east/north kilometres (..., 2)."""
    return np.asarray(enu_m, float)[..., :2] / 1000.0


def _pt(enu_m: ArrayLike) -> tuple[float, float]:
    """One ENU point in metres -> (east_km, north_km)."""
    e, n = _km(enu_m).reshape(2)
    return float(e), float(n)


def _zones_km(run: _Run) -> list[tuple[Any, Polygon]]:
    """Each zone with its footprint (holes included) in site east/north kilometres."""
    frame = run.record.site.frame
    return [(z, shapely.transform(z.shape(frame), lambda xy: xy / 1000.0)) for z in run.record.site.zones]


def _filled(poly: Polygon) -> mpath.Path:
    """A footprint as a matplotlib path whose holes stay unfilled (inner rings turn the other way)."""
    poly = orient(poly)
    return mpath.Path.make_compound_path(*(mpath.Path(np.asarray(ring.coords), closed=True)
                                           for ring in (poly.exterior, *poly.interiors)))


def _sensors_km(run: _Run) -> list[tuple[Any, tuple[float, float]]]:
    frame = run.record.site.frame
    return [(s, _pt(frame.to_enu(s.lat_deg, s.lon_deg, s.alt_m))) for s in run.record.site.sensors]


def _assets_km(run: _Run) -> NDArray[np.float64]:
    return _km(AssetSet(run.record.site).pos)


def _pad(bounds: tuple[float, float, float, float], frac: float, min_half_km: float) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = bounds
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    half = max((x1 - x0) / 2, (y1 - y0) / 2, min_half_km) * (1 + frac)
    return cx - half, cy - half, cx + half, cy + half


def _overview_box(run: _Run) -> tuple[float, float, float, float]:
    pts = [np.zeros((1, 2)), _assets_km(run)]
    for s, xy in _sensors_km(run):
        pts.append(np.array(xy) + np.array([[-1, -1], [1, 1]]) * s.max_range_m / 1000)
    pts += [_km(h.pos[h.in_coverage]) for h in run.record.truths.values()]
    pts += [_km(h.pos[np.isin(h.status, (CONFIRMED, COASTING))]) for h in run.record.tracks.values()]
    allp = np.concatenate([p.reshape(-1, 2) for p in pts])
    return _pad((*allp.min(axis=0), *allp.max(axis=0)), 0.04, 0.5)


def _zoom_box(run: _Run) -> tuple[float, float, float, float]:
    assets = _assets_km(run)
    if not len(assets):
        return _pad((0.0, 0.0, 0.0, 0.0), 0.0, 1.0)
    r = max(a.radius_m for a in run.record.site.assets) / 1000
    bounds = (*(assets.min(axis=0) - r), *(assets.max(axis=0) + r))
    holding = [poly for _, poly in _zones_km(run) if any(poly.contains(Point(a)) for a in assets)]
    if holding:
        bounds = min(holding, key=lambda p: p.area).union(box(*bounds)).bounds
    return _pad(bounds, 0.12, 0.3)


def _scale_length_km(width_km: float) -> float:
    steps = (0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1, 2, 5, 10, 20, 50, 100)
    return max((s for s in steps if s <= width_km / 5), default=steps[0])


def _draw_map(ax: Axes, run: _Run, view: tuple[float, float, float, float], detail: bool) -> None:
    site, vbox = run.record.site, box(*view)
    for z, poly in _zones_km(run):
        col = ZONE_COLOURS[z.kind]
        ax.add_patch(PathPatch(_filled(poly), fc=col, alpha=0.08, ec="none", zorder=1))
        for ring in (poly.exterior, *poly.interiors):
            ax.add_patch(PolygonPatch(np.asarray(ring.coords), closed=True, fill=False, ec=col, lw=1.3, zorder=2))
        label = f"{z.id} ({z.kind}, {z.floor_m:.0f}–{z.ceiling_m:.0f} m)"
        if poly.contains(vbox):
            ax.text(0.01, 0.01, f"whole view inside zone {label}", transform=ax.transAxes, va="bottom",
                    color=col, fontsize=9, zorder=6)
        elif poly.intersects(vbox) and poly.intersection(vbox).area > 0.02 * vbox.area:
            x0, _, x1, y1 = poly.intersection(vbox).bounds
            at_edge = y1 > view[3] - 0.03 * (view[3] - view[1])
            x = (x0 + x1) / 2
            side = (x - view[0]) / (view[2] - view[0])
            ha = "right" if side > 0.75 else "left" if side < 0.25 else "center"
            ax.text(x1 if ha == "right" else x0 if ha == "left" else x, y1, label, ha=ha,
                    va="top" if at_edge else "bottom", color=col, fontsize=9, clip_on=True, zorder=6)
    for s, at in _sensors_km(run):
        ax.add_patch(Circle(at, s.max_range_m / 1000, fill=False, ec="#555", ls=(0, (6, 4)), lw=1, zorder=2))
        ax.plot(*at, marker="^", color="black", ms=9, zorder=8)
        if detail:
            ax.annotate(s.id, at, xytext=(6, -12), textcoords="offset points", fontsize=8, clip_on=True)
    for a, (ax_km, ay_km) in zip(site.assets, _assets_km(run), strict=True):
        centre = (float(ax_km), float(ay_km))
        ax.add_patch(Circle(centre, a.radius_m / 1000, fc="#ffca28", ec="#7a5a00", alpha=0.8, lw=1, zorder=4))
        ax.plot(*centre, marker="P", color="#7a5a00", ms=5 if not detail else 7, zorder=5)
        if detail:
            ax.annotate(a.name or a.id, centre, xytext=(7, 5), textcoords="offset points", fontsize=9,
                        color="#5c4300", clip_on=True, zorder=9)
    for tid, h in run.record.truths.items():
        xy = _km(h.pos)
        ax.plot(xy[:, 0], xy[:, 1], ls=(0, (3, 2)), lw=0.9, color=TRUTH_COLOURS.get(h.kind, "#333"), zorder=3)
        inside = xy[(xy[:, 0] > view[0]) & (xy[:, 0] < view[2]) & (xy[:, 1] > view[1]) & (xy[:, 1] < view[3])]
        if len(inside) and h.kind not in QUIET_KINDS:  # birds and cars are many: their names only clutter
            ax.annotate(tid, (float(inside[0, 0]), float(inside[0, 1])), xytext=(3, 3), textcoords="offset points", fontsize=8,
                        color=TRUTH_COLOURS.get(h.kind, "#333"), clip_on=True, zorder=9)
    labelled = {t for row in run.summary["per_truth"] if row["kind"] not in QUIET_KINDS for t in row["track_ids"]}
    labelled |= {a["track_id"] for _, a, _ in run.alerts}
    for kid, trk in run.record.tracks.items():
        runs = _live_runs(trk)
        for idx, cls in runs:
            xy = _km(trk.pos[idx])
            quiet = cls in QUIET_KINDS  # drawn thin and light, so drones and alerts stand out
            ax.plot(xy[:, 0], xy[:, 1], lw=0.8 if quiet else 1.8, alpha=0.45 if quiet else 1.0,
                    color=CLASS_COLOURS.get(cls, CLASS_COLOURS["unknown"]), zorder=5 if quiet else 6)
        if runs and kid in labelled:
            ax.annotate(kid, _pt(trk.pos[runs[-1][0][-1]]), xytext=(4, -10), textcoords="offset points", fontsize=8,
                        fontweight="bold", clip_on=True, zorder=9)
    for label, _, pos in run.alerts:
        if pos is not None:
            ax.plot(*_pt(pos), linestyle="none", zorder=10, **MARKS["alert"][1])
            ax.annotate(label, _pt(pos), xytext=(6, 4), textcoords="offset points", fontsize=9, color="#b00000",
                        fontweight="bold", clip_on=True, zorder=10)
    ax.set_xlim(view[0], view[2])
    ax.set_ylim(view[1], view[3])
    ax.set_aspect("equal", adjustable="box")
    ax.grid(True, color="#e3e3e3", lw=0.6)
    ax.set_xlabel("east of site reference (km)")
    ax.set_ylabel("north of site reference (km)")
    length = _scale_length_km(view[2] - view[0])
    ax.add_artist(AnchoredSizeBar(ax.transData, length, f"{length * 1000:.0f} m" if length < 1 else f"{length:g} km",
                                  "lower right", pad=0.5, frameon=True, size_vertical=(view[3] - view[1]) / 300))
    ax.annotate("N", xy=(0.97, 0.97), xytext=(0.97, 0.89), xycoords="axes fraction", ha="center",
                fontweight="bold", arrowprops={"arrowstyle": "-|>", "color": "black"})


def _map_figure(run: _Run) -> Figure:
    fig = _new_figure(14, 7.6)
    ax_all, ax_zoom = fig.subplots(1, 2)
    zoom = _zoom_box(run)
    _draw_map(ax_all, run, _overview_box(run), detail=False)
    _draw_map(ax_zoom, run, zoom, detail=True)
    ax_all.add_patch(Rectangle(zoom[:2], zoom[2] - zoom[0], zoom[3] - zoom[1], fill=False, ec="#444", lw=1.2, zorder=11))
    ax_all.set_title("Overview: radar coverage and all paths")
    ax_zoom.set_title("Protected area (box on the left)")
    handles = [Line2D([], [], color=c, lw=1.8, label=f"track: {k}") for k, c in CLASS_COLOURS.items()]
    handles += [Line2D([], [], color=c, lw=0.9, ls=(0, (3, 2)), label=f"true path: {k}") for k, c in TRUTH_COLOURS.items()]
    handles += [Line2D([], [], ls="none", label="intrusion alert", **MARKS["alert"][1]),
                Line2D([], [], ls="none", marker="^", color="black", label="radar"),
                Line2D([], [], color="#555", ls=(0, (6, 4)), label="radar coverage"),
                Line2D([], [], ls="none", marker="o", mfc="#ffca28", mec="#7a5a00", ms=9, label="asset and radius")]
    fig.legend(handles=handles, loc="outside lower center", ncol=7, frameon=False, fontsize=9)
    return fig


def _mark_times(row: dict[str, Any]) -> list[tuple[str, float]]:
    return [(k, row[_KEY_OF[k]]) for k in MARKS if row.get(_KEY_OF[k]) is not None]


def _timeline_figure(run: _Run) -> Figure | None:
    rec = run.record
    rows: list[tuple[str, str, str]] = []  # (label, kind, id)
    for d in run.drones:
        rows.append((f"{d} (drone)", "truth", d))
        rows += [(f"   track {k}", "track", k) for k in run.truth_rows.get(d, {}).get("track_ids", []) if k in rec.tracks]
    drone_tracks = {r[2] for r in rows if r[1] == "track"}
    for _, a, _ in run.alerts:
        if a["track_id"] not in drone_tracks and a["track_id"] in rec.tracks:
            rows.append((f"track {a['track_id']} (not a drone)", "track", a["track_id"]))
            drone_tracks.add(a["track_id"])
    if not rows:
        return None
    fig = _new_figure(13, 1.3 + 0.34 * len(rows))
    ax = fig.subplots()
    t = rec.scan_times
    for y, (_, kind, oid) in enumerate(rows):
        if kind == "truth":
            h = rec.truths[oid]
            cov = h.scan[h.in_coverage]
            for seg in np.split(cov, np.flatnonzero(np.diff(cov) != 1) + 1):
                if len(seg):
                    ax.barh(y, _days(t[seg[-1]] - t[seg[0]]) + 1e-9, left=_days(t[seg[0]]), height=0.5, color="#d5d9de")
            for key, tm in _mark_times(run.truth_rows.get(oid, {})):
                ax.plot(_days(tm), y, ls="none", zorder=5, **MARKS[key][1])
        else:
            trk = rec.tracks[oid]
            for idx, cls in _live_runs(trk):
                ts = t[trk.scan[idx]]
                ax.barh(y, _days(ts[-1] - ts[0]) + 1e-9, left=_days(ts[0]), height=0.36,
                        color=CLASS_COLOURS.get(cls, CLASS_COLOURS["unknown"]))
            for _, a, _ in run.alerts:
                if a["track_id"] == oid:
                    ax.plot(_days(a["t"]), y, ls="none", zorder=5, **MARKS["alert"][1])
    ax.set_yticks(range(len(rows)), [r[0] for r in rows])
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.grid(True, axis="x", color="#e3e3e3")
    _time_axis(ax, run)
    handles = [Line2D([], [], ls="none", label=label, **style) for label, style in MARKS.values()]
    handles += [Line2D([], [], color=c, lw=6, label=f"track: {k}") for k, c in CLASS_COLOURS.items()]
    handles.append(Line2D([], [], color="#d5d9de", lw=6, label="drone in coverage"))
    fig.legend(handles=handles, loc="outside lower center", ncol=5, frameon=False, fontsize=9)
    return fig


def _target_figure(run: _Run, tid: str) -> Figure:
    rec, h, row = run.record, run.record.truths[tid], run.truth_rows.get(tid, {})
    t = rec.scan_times
    fig = _new_figure(12, 8)
    ax_d, ax_z, ax_e = fig.subplots(3, 1, sharex=True, height_ratios=[1.3, 1, 0.8])
    has_assets = bool(rec.site.assets)
    if has_assets:
        ax_d.plot(_days(t[h.scan]), asset_distances_m(rec.site, h.pos).min(axis=1), ls=(0, (3, 2)), color="black",
                  lw=1.2, label=f"{tid} (true)")
        ax_d.axhline(min(a.radius_m for a in rec.site.assets), color="#7a5a00", lw=0.8, ls=":", label="asset radius")
    ax_z.plot(_days(t[h.scan]), h.pos[:, 2], ls=(0, (3, 2)), color="black", lw=1.2, label=f"{tid} (true)")
    errors: dict[str, tuple[list[float], list[float]]] = {}
    for s in h.scan:
        for trk, tru in run.assignment.by_scan[s].items():
            if tru == tid:
                errors.setdefault(trk, ([], []))[0].append(float(t[s]))
                errors[trk][1].append(run.assignment.error_m[s][trk])
    for i, kid in enumerate(row.get("track_ids", [])):
        trk, col = rec.tracks.get(kid), TRACK_CYCLE[i % len(TRACK_CYCLE)]
        if trk is None:
            continue
        live = np.isin(trk.status, (CONFIRMED, COASTING))
        if has_assets:
            ax_d.plot(_days(t[trk.scan[live]]), asset_distances_m(rec.site, trk.pos[live]).min(axis=1), color=col,
                      lw=1.5, label=f"track {kid}")
        ax_z.plot(_days(t[trk.scan[live]]), trk.pos[live, 2], color=col, lw=1.5, label=f"track {kid}")
        if kid in errors:
            ax_e.plot(_days(np.array(errors[kid][0])), errors[kid][1], ".", ms=3, color=col, label=f"track {kid}")
    for key, tm in _mark_times(row):
        for ax in (ax_d, ax_z, ax_e):
            ax.axvline(_days(tm), color="#e00000" if key == "alert" else "#555", lw=0.8, ls="--", zorder=1)
        ax_d.plot(_days(tm), 1.0, transform=ax_d.get_xaxis_transform(), ls="none", clip_on=False, **MARKS[key][1])
    warning = _diff(row.get("reached_asset_t"), row.get("alert_t"))
    if warning is not None and warning > 0:
        ax_d.annotate("", xy=(_days(row["reached_asset_t"]), 0.85), xytext=(_days(row["alert_t"]), 0.85),
                      xycoords=ax_d.get_xaxis_transform(), arrowprops={"arrowstyle": "<->", "color": "#b00000"})
        ax_d.text(_days((row["alert_t"] + row["reached_asset_t"]) / 2), 0.88, f"warning {_secs(warning)}",
                  transform=ax_d.get_xaxis_transform(), ha="center", va="bottom", color="#b00000", fontweight="bold")
    ax_d.set_ylabel("to nearest asset (m)")
    ax_d.set_yscale("symlog", linthresh=100, linscale=0.6)
    top = ax_d.get_ylim()[1]
    ax_d.set_yticks([v for v in (0, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000) if v <= top],
                    minor=False)
    ax_d.yaxis.set_major_formatter(mticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax_d.set_ylim(bottom=0)
    ax_z.set_ylabel("altitude (m above ref.)")
    ax_e.set_ylabel("track error (m)")
    ax_e.set_ylim(bottom=0)
    marks = [Line2D([], [], ls="none", label=MARKS[k][0], **MARKS[k][1]) for k, _ in _mark_times(row)]
    for ax, extra in ((ax_d, marks), (ax_z, []), (ax_e, [])):
        ax.grid(True, color="#e6e6e6")
        handles = ax.get_legend_handles_labels()[0] + extra
        if handles:
            ax.legend(handles=handles, loc="lower left" if ax is ax_d else "upper right", fontsize=8, ncol=4)
    if not errors:
        ax_e.text(0.5, 0.5, "no track was ever assigned to this drone", transform=ax_e.transAxes, ha="center")
    pad = _days(10.0)
    ax_e.set_xlim(_days(t[h.scan[0]]) - pad, _days(t[h.scan[-1]]) + pad)
    _time_axis(ax_e, run)
    return fig


# ---------------------------------------------------------------- HTML sections

def _target_html(run: _Run, tid: str) -> str:
    row, tz = run.truth_rows.get(tid, {}), run.tz
    facts = [("first detection", _clock(row.get("first_detected_t"), tz)),
             ("confirmed", _clock(row.get("confirmed_t"), tz)),
             ("alert", _clock(row.get("alert_t"), tz)),
             ("asset reached", _clock(row.get("reached_asset_t"), tz)),
             ("detection → alert", _secs(_diff(row.get("alert_t"), row.get("first_detected_t")))),
             ("warning before asset", _secs(_diff(row.get("reached_asset_t"), row.get("alert_t")))),
             ("tracks", ", ".join(row.get("track_ids", [])) or "none")]
    facts += [("identified", f"{e.uas_id} on {e.track_id}, " + (f"permit {e.permit_id}" if e.permit_id else "no permit"))
              for e in run.record.events
              if isinstance(e, TrackIdentified) and e.track_id in row.get("track_ids", [])]
    text = " · ".join(f"{k} <b>{escape(v)}</b>" for k, v in facts)
    return (f"<h3>Drone {escape(tid)}</h3>\n<p class=\"facts\">{text} (local time, {escape(_tz_label(run))})</p>\n"
            + _figure_html(_target_figure(run, tid), f"target-{tid}", "target"))


def _alerts_table(run: _Run) -> str:
    if not run.alerts:
        return '<p class="none">No intrusion alert was raised.</p>'
    tz = run.tz
    rows = [([label, _clock(a["t"], tz), _clock(a["t"], dt.UTC), escape(a["track_id"]),
              escape(a["truth_id"] or "—"), escape(a["zone"]), escape(a["asset"] or "—"), _secs(a["time_to_asset_s"])],
             "alert") for label, a, _ in run.alerts]
    return _table(["#", f"local ({_tz_label(run)})", "UTC", "track", "true object", "zone", "asset", "time to asset"],
                  rows, num=(7,))


def _describe(e: Event, alert_labels: dict[tuple[float, str], str]) -> tuple[str, str, str, str]:
    """(what happened, zone/asset, time to asset, row class) for one event."""
    if isinstance(e, ZoneViolation):
        label = alert_labels.get((round(e.t, 6), e.track_id), "")
        return (f"INTRUSION ALERT {label}: {e.classification} in zone", f"{e.zone_id} / {e.asset_id or '—'}",
                _secs(e.time_to_asset_s), "alert")
    if isinstance(e, ThreatRaised):
        return (f"threat {e.level}, closest approach {e.closest_approach_m:.0f} m", e.asset_id,
                _secs(e.time_to_asset_s), "threat")
    if isinstance(e, TrackClassified):
        return f"classified {e.classification} ({e.confidence:.0%})", "", "", ""
    if isinstance(e, TrackIdentified):
        return f"identified as {e.uas_id}, " + (f"permit {e.permit_id}" if e.permit_id else "no permit"), "", "", ""
    words = re.sub(r"(?<!^)([A-Z])", r" \1", e.kind).lower()
    extra = {k: v for k, v in e.to_dict().items() if k not in ("kind", "t", "track_id", "position_enu_m")}
    return words + ("" if not extra else " " + ", ".join(f"{k}={v}" for k, v in extra.items())), "", "", ""


def _events_table(run: _Run) -> str:
    rec, tz = run.record, run.tz
    if not rec.events:
        return '<p class="none">No events.</p>'
    labels = {(round(a["t"], 6), a["track_id"]): label for label, a, _ in run.alerts}
    held: dict[str, list[tuple[int, str]]] = {}  # track id -> (scan, truth) of every assignment, in scan order
    for s, pairs in enumerate(run.assignment.by_scan):
        for trk, tru in pairs.items():
            held.setdefault(trk, []).append((s, tru))
    rows = []
    for e in sorted(rec.events, key=lambda e: e.t):
        track = getattr(e, "track_id", None)
        scan = scan_index(rec.scan_times, e.t)
        truth = run.assignment.truth_of(scan, track) if track else None
        before = [tru for s, tru in held.get(track or "", []) if s <= scan]
        shown = truth or (f"{before[-1]} (last held)" if before else "—")
        what, where, tta, cls = _describe(e, labels)
        rows.append(([_clock(e.t, tz), _clock(e.t, dt.UTC), escape(track or "—"), escape(what), escape(where),
                      tta, escape(shown)], cls))
    table = _table([f"local ({_tz_label(run)})", "UTC", "track", "event", "zone / asset", "time to asset",
                    "true object"], rows, num=(5,))
    return f'<div class="scroll">{table}</div>'


def _objects_table(run: _Run) -> str:
    tz = run.tz
    rows = [([escape(r["truth_id"]), escape(r["kind"]), _clock(r["first_detected_t"], tz), _clock(r["confirmed_t"], tz),
              _clock(r["alert_t"], tz), _clock(r["reached_asset_t"], tz),
              _secs(_diff(r["alert_t"], r["first_detected_t"])), escape(", ".join(r["track_ids"]) or "—")],
             "alert" if r["reached_asset_t"] is not None and r["alert_t"] is None else "")
            for r in run.summary["per_truth"]]
    return _table(["object", "kind", "first detected", "confirmed", "alert", "asset reached", "detection → alert",
                   "tracks"], rows, num=(6,))


def _site_tables(run: _Run) -> str:
    site = run.record.site
    sensors = _table(["sensor", "position (lat, lon)", "height", "range", "scan"], [
        ([escape(s.id), f"{s.lat_deg:.5f}, {s.lon_deg:.5f}", f"{s.alt_m:.0f} m",
          f"{s.min_range_m:.0f}–{s.max_range_m:.0f} m", f"{s.scan_period_s:g} s"], "") for s in site.sensors])
    assets = _table(["asset", "name", "position (lat, lon)", "height", "radius"], [
        ([escape(a.id), escape(a.name), f"{a.lat_deg:.5f}, {a.lon_deg:.5f}", f"{a.alt_m:.0f} m", f"{a.radius_m:.0f} m"], "")
        for a in site.assets])
    zones = _table(["zone", "name", "kind", "altitude band", "active"], [
        ([escape(z.id), escape(z.name), escape(z.kind), f"{z.floor_m:.0f}–{z.ceiling_m:.0f} m",
          escape("; ".join(f"{','.join(s.days)} {s.start}–{s.end}" for s in z.schedule) or "always")], "")
        for z in site.zones])
    permits = _table(["permit", "holder", "UAS id", "zone", "window (UTC)"], [
        ([escape(p.id), escape(p.holder), escape(p.uas_id), escape(p.zone or "anywhere"),
          f"{p.start.astimezone(dt.UTC):%Y-%m-%d %H:%M} → {p.end.astimezone(dt.UTC):%Y-%m-%d %H:%M}"], "")
        for p in site.permits])
    ref = site.reference
    return (f"<p class=\"facts\">Reference point {ref.lat_deg:.5f}, {ref.lon_deg:.5f} (height {ref.height_m:.0f} m "
            f"WGS84); heights below are metres above it. Time zone {escape(site.timezone)}.</p>\n"
            f"<h3>Sensors</h3>{sensors}<h3>Assets</h3>{assets}<h3>Zones</h3>{zones}<h3>Permits</h3>{permits}")
