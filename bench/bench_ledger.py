"""Evidence ledger benchmark: append rate with one group commit per scan, then verify and reopen times.

Scans of ``scan_size`` raw entries (``payload_bytes`` each, four sensors) arrive every 0.1 s of data
time; each scan is one ``commit()`` (write + fdatasync), and a head is signed every 1 s of data time.
The ledger lives in a temporary directory beside this file's ``out/`` (same disk as the repo).
``python bench/bench_ledger.py [n_entries]`` prints the figures; ``run()`` returns them.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from skywarden.evidence import Ledger, SiteKey, verify_ledger

HERE = Path(__file__).parent


def run(n_entries: int = 1_000_000, scan_size: int = 100, payload_bytes: int = 100,
        seed: int = 2024) -> dict[str, Any]:
    """Append ``n_entries`` in scans, close, verify and reopen; rates, times and sizes as a dict."""
    rng = np.random.default_rng(seed)
    payloads = [rng.bytes(payload_bytes) for _ in range(1024)]  # made up front: not part of the timing
    sensors = [f"radar-{i}" for i in range(4)]
    key = SiteKey.generate()
    scans = -(-n_entries // scan_size)
    commit_s = np.empty(scans)
    scratch = HERE.parent / "out"
    scratch.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=scratch) as tmp:
        path = Path(tmp) / "bench.ledger"
        t_start = time.perf_counter()
        with Ledger.create(path, key) as ledger:
            written = 0
            for scan in range(scans):
                t = 1.7e9 + 0.1 * scan
                for _ in range(min(scan_size, n_entries - written)):
                    ledger.append_raw(t, sensors[written & 3], payloads[written & 1023])
                    written += 1
                t_commit = time.perf_counter()
                ledger.commit()
                commit_s[scan] = time.perf_counter() - t_commit
            heads = len(ledger.heads)
        append_s = time.perf_counter() - t_start
        file_mb = path.stat().st_size / 1e6
        t0 = time.perf_counter()
        report = verify_ledger(path)
        verify_s = time.perf_counter() - t0
        if not report.ok:
            raise SystemExit(f"bench ledger failed verification: {report.message}")
        t0 = time.perf_counter()
        with Ledger.open(path) as reopened:
            assert reopened.size == n_entries
        open_s = time.perf_counter() - t0
    return {"entries": n_entries, "scan_size": scan_size, "payload_bytes": payload_bytes, "heads": heads,
            "file_mb": file_mb, "append_s": append_s, "append_entries_per_s": n_entries / append_s,
            "commit_p50_ms": float(np.percentile(commit_s, 50) * 1e3),
            "commit_p99_ms": float(np.percentile(commit_s, 99) * 1e3),
            "verify_s": verify_s, "verify_entries_per_s": n_entries / verify_s, "open_s": open_s}


if __name__ == "__main__":
    r = run(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
    print(f"ledger: {r['entries']:,} raw entries of {r['payload_bytes']} B in scans of {r['scan_size']}, "
          f"{r['heads']:,} signed heads, {r['file_mb']:.1f} MB")
    print(f"  append  {r['append_entries_per_s']:,.0f} entries/s ({r['append_s']:.2f} s; commit p50 "
          f"{r['commit_p50_ms']:.2f} ms, p99 {r['commit_p99_ms']:.2f} ms)")
    print(f"  verify  {r['verify_s']:.2f} s ({r['verify_entries_per_s']:,.0f} entries/s)")
    print(f"  reopen  {r['open_s']:.2f} s")
