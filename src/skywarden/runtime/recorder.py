"""A run written into the ledger, evidence first: raw input, then the decisions it led to, one commit per scan.

What a run appends, in order:

1. one ``config`` entry named :data:`RUN_CONFIG`: the software version, the site (as JSON) and every
   pipeline parameter, so that a ledger alone is enough to run the same pipeline again;
2. per scan, the raw inputs exactly as received (``raw`` entries: the cooperative reports that arrived
   with the scan, then the sensor scan itself; the scan's entry closes it), then every event the
   pipeline emitted for it, then a ``ScanDigest`` event holding a SHA-256 of the whole track table after
   the scan, and one group commit (the durability point: a scan is recorded whole or not at all). An input
   that is refused (bad bytes, or a time the tracker cannot take) stays as evidence and an ``InputRejected``
   event says why: among the scan's events, or alone when the sensor scan itself was refused.

The pipeline only ever sees inputs decoded from the bytes just appended, so a re-run from the ledger
starts from exactly what the live run saw.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from pydantic import ValidationError

from skywarden import __version__
from skywarden.config import Site, format_validation_error
from skywarden.events import Event, InputRejected
from skywarden.evidence.encoding import canonical_json
from skywarden.evidence.ledger import Ledger
from skywarden.sensors import CoopReport, Plots
from skywarden.sensors.jsonl import SensorDecodeError, decode_input, encode_coop, encode_plots
from skywarden.tracking.tracker import TrackingError

if TYPE_CHECKING:
    from skywarden.pipeline import Picture, Pipeline

RUN_CONFIG = "skywarden-run"
SITE_ITEM_PREFIX = "site/"  # config entries "site/<zones|assets|permits>/<id>" and "site/safety": a live edit
SITE_ITEM_KINDS = ("zones", "assets", "permits", "safety")  # "safety": the site's [safety] table, whole


def edited_site(site: Site, kind: str, item: dict[str, Any]) -> Site:
    """``site`` with one zone, asset or permit added or replaced, or with the safety table ``item`` (validated
    as a whole: a permit's zone must exist); ValueError says what is wrong."""
    if kind not in SITE_ITEM_KINDS:
        raise ValueError(f"cannot edit {kind!r}: only {', '.join(SITE_ITEM_KINDS)}")
    where = edit_name(kind, item)
    value: dict[str, Any] | list[dict[str, Any]] = item
    if kind != "safety":
        items = [x.model_dump(mode="json") for x in getattr(site, kind)]
        at = next((i for i, x in enumerate(items) if x["id"] == item["id"]), len(items))
        value = [*items[:at], item, *items[at + 1:]]
    try:
        return Site.model_validate({**site.model_dump(mode="json"), kind: value})
    except ValidationError as exc:
        raise ValueError(format_validation_error(exc, where)) from None


def edit_name(kind: str, item: dict[str, Any]) -> str:
    """What a live edit is called: ``<kind>/<id>``, or ``safety`` for the site's safety table (whole); its config
    entry in the ledger is named :data:`SITE_ITEM_PREFIX` and this, which :func:`apply_config_entry` reads back."""
    return "safety" if kind == "safety" else f"{kind}/{item['id']}"


def apply_config_entry(pipeline: Pipeline, name: str, payload: bytes) -> bool:
    """Apply a live site edit recorded as a config entry (an item, or the safety table, whose thresholds the
    pipeline then runs with); False if ``name`` is no such entry."""
    if not name.startswith(SITE_ITEM_PREFIX):
        return False
    kind = name[len(SITE_ITEM_PREFIX):].split("/", 1)[0]
    pipeline.set_site(edited_site(pipeline.site, kind, json.loads(payload)))
    return True


def run_config(pipeline: Pipeline) -> dict[str, Any]:
    """What a re-run needs besides the raw inputs: version, site and the parameters of every stage."""
    return {
        "software_version": __version__,
        "site": pipeline.site.model_dump(mode="json"),
        "tracker": dataclasses.asdict(pipeline.tracker.params),
        "classifier": dataclasses.asdict(pipeline.classifier.params),
        "threat": dataclasses.asdict(pipeline.rules.threat_params),
        "policy": dataclasses.asdict(pipeline.rules.policy),
    }


def scan_digest(picture: Picture) -> dict[str, Any]:
    """The ``ScanDigest`` event of a scan: track count and a SHA-256 over ids, states and status."""
    return {"kind": "ScanDigest", "t": picture.t, "tracks": len(picture.ids), "sha256": picture.digest()}


@dataclasses.dataclass(frozen=True)
class RawInput:
    """One input exactly as received: who sent it, when it arrived, its bytes."""

    t: float
    source: str
    data: bytes


def raw_inputs(plots: Plots, coop: Sequence[CoopReport] = ()) -> list[RawInput]:
    """A simulated scan as the raw lines a receiver would have got: cooperative reports, then the scan."""
    return [RawInput(r.t, r.source, encode_coop(r).encode()) for r in coop] + [
        RawInput(plots.t, plots.sensor_id, encode_plots(plots).encode())]


class ScanOutcome(NamedTuple):
    """What one scan gave: the picture, its events, and their JSON form (as the ledger holds them)."""

    picture: Picture
    events: list[Event]
    event_dicts: list[dict[str, Any]]


class ScanRejected(ValueError):
    """A scan that did not run: its sensor scan was refused (``events``: the refusals, as recorded) or it had
    none."""

    def __init__(self, message: str, events: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.events = events


class EvidenceRecorder:
    """Drives a :class:`Pipeline` from raw inputs, appending each to the ledger (when there is one) before
    the pipeline sees it.

    A raw input that its decoder refuses, or whose time the tracker cannot take (it goes back), stays in
    the ledger as evidence and is followed by an :class:`InputRejected` event naming it and the reason; the
    run goes on. Cooperative reports wait for the next sensor scan, which runs them. A re-run feeds the
    recorded entries through :meth:`take` and :meth:`rejections` in the same order, so it refuses the same
    inputs with the same words.
    """

    def __init__(self, pipeline: Pipeline, ledger: Ledger | None, t_start: float) -> None:
        self.pipeline, self.ledger = pipeline, ledger
        self._reports: list[CoopReport] = []  # decoded, waiting for the sensor scan that runs them
        self._rejected: list[InputRejected] = []  # refused since the last recorded scan
        if ledger is not None:
            ledger.append_config(t_start, RUN_CONFIG, canonical_json(run_config(pipeline)))
            ledger.commit()

    def scan(self, inputs: Sequence[RawInput]) -> ScanOutcome:
        """Record one scan's raw inputs (cooperative reports first, the sensor scan last), run them, record the
        events and the scan digest, and commit; ScanRejected (after recording) when no sensor scan ran."""
        outcome = None
        for raw in inputs:
            index = self.ledger.append_raw(raw.t, raw.source, raw.data) if self.ledger is not None else None
            outcome = self.take(index, raw.t, raw.source, raw.data) or outcome
        if outcome is not None:
            return outcome
        refused = [e.to_dict() for e in self.rejections()]
        if self.ledger is not None:
            for d in refused:
                self.ledger.append_event(d["t"], d)
            self.ledger.commit()
        if refused:
            raise ScanRejected("; ".join(f"{d['source']}: {d['reason']}" for d in refused), refused)
        raise ScanRejected(f"no sensor scan among {len(inputs)} inputs; {len(self._reports)} reports wait for one", [])

    def take(self, index: int | None, t: float, source: str, data: bytes) -> ScanOutcome | None:
        """One raw input (already recorded at ``index``): a report waits, a sensor scan runs with the reports
        before it; a refused one is noted for the scan's events. The outcome when a scan ran."""
        try:
            decoded = decode_input(data)
        except SensorDecodeError as exc:
            self._rejected.append(InputRejected(t=t, entry=index, source=source, reason=str(exc)))
            return None
        if isinstance(decoded, CoopReport):
            self._reports.append(decoded)
            return None
        try:
            picture, events = self.pipeline.step(decoded, self._reports)
        except TrackingError as exc:  # raised before any state changes: the scan is refused like bad bytes
            self._rejected.append(InputRejected(t=t, entry=index, source=source, reason=str(exc)))
            return None
        self._reports = []
        events = [*self._rejected, *events]
        self._rejected = []
        dicts = [e.to_dict() for e in events]
        if self.ledger is not None:
            for event, d in zip(events, dicts, strict=True):
                self.ledger.append_event(event.t, d)
            self.ledger.append_event(picture.t, scan_digest(picture))
            self.ledger.commit()
        return ScanOutcome(picture, events, dicts)

    def rejections(self) -> list[InputRejected]:
        """The refusals not yet recorded with a scan (its sensor scan was refused); cleared."""
        refused, self._rejected = self._rejected, []
        return refused


def event_payloads(outcome: ScanOutcome) -> list[bytes]:
    """The canonical payloads a scan's events (and its digest) have in the ledger, to compare a re-run by."""
    return [canonical_json(d) for d in outcome.event_dicts] + [canonical_json(scan_digest(outcome.picture))]


def describe(payload: bytes) -> str:
    """A short human form of an event payload, for difference reports."""
    obj = json.loads(payload)
    fields = ", ".join(f"{k}={v}" for k, v in obj.items() if k != "kind")
    return f"{obj.get('kind')}({fields})"
