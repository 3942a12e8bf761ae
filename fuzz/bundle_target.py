"""The incident-bundle fuzz target: a small genuine bundle, one member of it replaced by the fuzzer's bytes.

Random bytes as a whole zip rarely get past the zip's own CRCs, so the first byte picks what the rest
replaces: the whole zip, or one member inside an otherwise genuine bundle. A replaced manifest is signed
again (with the bundle's key, as a forger with a key of their own would), so the fuzzer reaches every check
after the signature. Verified without the re-run: its input, the raw lines, is the ``plots_jsonl`` target's,
and a re-run takes a second where a bundle's checks take a millisecond.
"""

from __future__ import annotations

import functools
import io
import tempfile
import zipfile
from pathlib import Path

from skywarden import __version__
from skywarden.events import TrackConfirmed, TrackLost, ZoneViolation
from skywarden.evidence import Ledger, SiteKey, canonical_json
from skywarden.response.incidents import find_incidents
from skywarden.runtime.bundle import MANIFEST_CONTEXT, BundleError, export_bundle, verify_bundle
from skywarden.runtime.recorder import RUN_CONFIG

MODES = ("zip", "manifest.json", "entries.bin", "report.html", "public_key.pem")
T0 = 1_683_072_000.0


@functools.cache
def genuine() -> tuple[dict[str, bytes], SiteKey]:
    """A bundle of a hand-made run of three scans (a track confirmed, alerting, lost), and its key."""
    key = SiteKey.generate()
    events = [TrackConfirmed(T0 + 1, "T0001", (10.0, 20.0, 30.0)),
              ZoneViolation(T0 + 2, "T0001", "no-fly", "drone", "dome", 42.5, (5.0, 6.0, 30.0)),
              TrackLost(T0 + 3, "T0001")]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ledger"
        with Ledger.create(path, key) as ledger:
            ledger.append_config(T0, RUN_CONFIG, canonical_json({"software_version": __version__}))
            for k, event in enumerate(events, start=1):
                ledger.append_raw(T0 + k, "radar-1", b'{"type": "plots", "t": %d}' % (T0 + k))
                ledger.append_event(event.t, event.to_dict())
                ledger.append_event(event.t, {"kind": "ScanDigest", "t": event.t, "tracks": 1, "sha256": "0" * 64})
                ledger.commit()
        with Ledger.open(path) as ledger:
            out = Path(folder) / "inc.zip"
            export_bundle(ledger, list(ledger.entries()), find_incidents(events, T0 + 3)[0], out, "<html></html>", key)
            with zipfile.ZipFile(out) as z:
                return {name: z.read(name) for name in z.namelist()}, key


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def bundle(data: bytes) -> None:
    """Verify a bundle built from ``data``; BundleError (the typed outcome) when it is refused."""
    if not data:
        return
    mode, rest = MODES[data[0] % len(MODES)], data[1:]
    members, key = genuine()
    if mode == "zip":
        blob = rest
    else:
        changed = {**members, mode: rest}
        if mode == "manifest.json":
            changed["manifest.sig"] = key.sign_document(MANIFEST_CONTEXT, rest)
        blob = _zip(changed)
    report = verify_bundle(blob, replay=False)
    if not report.ok:  # refused with a reason: the typed outcome
        raise BundleError(report.problems[0])


def bundle_seeds() -> list[bytes]:
    """The genuine bundle whole, and each replaceable member of it."""
    members, _ = genuine()
    return [bytes([0]) + _zip(members)] + [bytes([k]) + members[m] for k, m in enumerate(MODES) if k]
