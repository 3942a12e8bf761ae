"""Crash safety: a writer killed with SIGKILL 100 times in a row never loses an acknowledged entry.

SIGKILL does not cut a small write() to a regular file short, so every other child writes like a slow
disk (128 bytes per write() call, then a pause): those kills land inside records and leave real torn
tails, as a power cut would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from skywarden.evidence import Ledger, verify_ledger

# The content of entry i, shared by the child (as source) and the test (exec'd below).
PAYLOAD_SRC = "def payload(i):\n    return f'entry {i};'.encode() * (1 + i % 9)\n"
_ns: dict[str, Callable[[int], bytes]] = {}
exec(PAYLOAD_SRC, _ns)
payload = _ns["payload"]

CHILD = PAYLOAD_SRC + """
import os, sys, time
from pathlib import Path
from skywarden.evidence import Ledger, SiteKey
path, key = Path(sys.argv[1]), SiteKey.load_or_create(Path(sys.argv[2]))
if sys.argv[3] == "slow":
    fast_write = os.write
    def slow_write(fd, data):
        n = fast_write(fd, data[:128])
        time.sleep(0.001)
        return n
    os.write = slow_write
ledger = (Ledger.open(path, key, sign_every_s=0.05) if path.exists()
          else Ledger.create(path, key, sign_every_s=0.05))
print("ready", flush=True)
while True:
    for _ in range(10):
        i = ledger.size
        ledger.append_raw(1.7e9 + 0.001 * i, f"radar-{i % 3}", payload(i))
    ledger.commit()
    print(ledger.size, flush=True)  # acknowledged: commit() returned
    time.sleep(0.01)
"""

KILLS = 100


def test_sigkill_mid_append_keeps_every_acknowledged_entry(
    tmp_path: Path, child_line: Callable[[subprocess.Popen[bytes], float], bytes]
) -> None:
    rng = np.random.default_rng(20240503)
    path, key = tmp_path / "crash.ledger", tmp_path / "site_key.pem"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    checked, torn_seen = 0, 0
    for kill in range(KILLS):
        mode = "slow" if kill % 2 else "fast"
        proc = subprocess.Popen([sys.executable, "-c", CHILD, str(path), str(key), mode], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=env)
        assert child_line(proc, 30).strip() == b"ready"
        time.sleep(rng.uniform(0.020, 0.200))
        proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate(timeout=10)
        assert proc.returncode == -signal.SIGKILL, err.decode()
        acked = [int(line) for line in out.split(b"\n")[:-1]]  # complete lines only
        last_ack = acked[-1] if acked else checked

        before = verify_ledger(path)
        assert before.ok or before.reason == "torn", (kill, before)
        with Ledger.open(path, repair=True) as ledger:
            torn_seen += ledger.repaired is not None
            assert (ledger.repaired is not None) == (before.reason == "torn"), (kill, before, ledger.repaired)
            assert ledger.size >= last_ack, (kill, ledger.size, last_ack, ledger.repaired)
            for entry in ledger.entries(checked):
                assert (entry.kind, entry.source, entry.payload, entry.t) == (
                    "raw", f"radar-{entry.index % 3}", payload(entry.index), 1.7e9 + 0.001 * entry.index)
            checked = ledger.size
        after = verify_ledger(path)
        assert after.ok and after.entries == checked, (kill, after)
    assert checked > KILLS * 10 and torn_seen >= 5  # the children really appended, and were really torn
    print(f"{KILLS} kills, {checked} entries, {torn_seen} torn tails repaired")
