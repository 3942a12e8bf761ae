"""Incidents: intrusion alerts grouped with the tracks behind them into time windows worth a record of their own.

An incident starts with a :class:`ZoneViolation`. Its window runs from ``margin_s`` before the alerted
tracks were confirmed to ``margin_s`` after they were lost (or the run ended); alerts whose windows
overlap form one incident. Incidents are derived from the events alone, so a re-run of the same inputs
finds the same ones, with the same ids (``INC-0001``, … in order of first alert).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from skywarden.events import Event, TrackConfirmed, TrackLost, ZoneViolation

MARGIN_S = 10.0


@dataclass(frozen=True)
class Incident:
    """One incident: its id, time window (UTC s), the alerted tracks and zones, and its alerts."""

    id: str
    t_start: float
    t_end: float
    first_alert_t: float
    track_ids: tuple[str, ...]
    zone_ids: tuple[str, ...]
    alerts: tuple[ZoneViolation, ...]

    def to_dict(self) -> dict[str, object]:
        return {"id": self.id, "t_start": self.t_start, "t_end": self.t_end, "first_alert_t": self.first_alert_t,
                "track_ids": list(self.track_ids), "zone_ids": list(self.zone_ids),
                "alerts": [a.to_dict() for a in self.alerts]}


def find_incidents(events: Sequence[Event], t_end_of_run: float, margin_s: float = MARGIN_S) -> list[Incident]:
    """The incidents of a run, in order of their first alert."""
    confirmed = {e.track_id: e.t for e in events if isinstance(e, TrackConfirmed)}
    lost = {e.track_id: e.t for e in events if isinstance(e, TrackLost)}
    alerts = sorted((e for e in events if isinstance(e, ZoneViolation)), key=lambda e: e.t)
    return group_alerts(alerts, confirmed, lost, t_end_of_run, margin_s)


def group_alerts(alerts: Sequence[ZoneViolation], confirmed: dict[str, float], lost: dict[str, float],
                 t_end_of_run: float, margin_s: float = MARGIN_S) -> list[Incident]:
    """Incidents from the alerts (in time order) and when their tracks were confirmed and lost."""
    groups: list[list[ZoneViolation]] = []
    spans: list[tuple[float, float]] = []
    for alert in alerts:
        t0 = confirmed.get(alert.track_id, alert.t) - margin_s
        t1 = lost.get(alert.track_id, t_end_of_run) + margin_s
        if spans and t0 <= spans[-1][1]:
            groups[-1].append(alert)
            spans[-1] = (min(spans[-1][0], t0), max(spans[-1][1], t1))
        else:
            groups.append([alert])
            spans.append((t0, t1))
    return [
        Incident(id=f"INC-{k + 1:04d}", t_start=t0, t_end=t1, first_alert_t=group[0].t,
                 track_ids=tuple(dict.fromkeys(a.track_id for a in group)),
                 zone_ids=tuple(dict.fromkeys(a.zone_id for a in group)), alerts=tuple(group))
        for k, (group, (t0, t1)) in enumerate(zip(groups, spans, strict=True))
    ]
