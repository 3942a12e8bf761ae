"""Load benchmark of the live service: ~1,000 simulated targets at one scan per second streamed to 20 WebSocket
clients; latency from a scan's arrival at the service to its picture's receipt by each client.

A real ``skywarden serve`` process on a loopback port plays the ``swarm-1000`` scenario in real time; 20
clients in this process receive every message. A picture message starts with its scan's arrival time
(Unix seconds, the same clock), read from the first bytes of the text at receipt, before any parsing.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import websockets

ARRIVAL = re.compile(r'"arrival_unix":([0-9.]+),"process_ms":([0-9.]+)')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _client(uri: str, token: str, until: float, latencies: list[float], processing: list[float],
                  sizes: list[int]) -> int:
    """Receive until ``until`` (monotonic); returns the number of messages received."""
    count = 0
    async with websockets.connect(uri, max_size=None, additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        await ws.recv()  # the snapshot
        while time.monotonic() < until:
            try:
                text = await asyncio.wait_for(ws.recv(), max(0.1, until - time.monotonic()))
            except TimeoutError:
                break
            now = time.time()
            count += 1
            head = text[:200] if isinstance(text, str) else text[:200].decode()
            if head.startswith('{"type":"picture"') and (m := ARRIVAL.search(head)):
                latencies.append(now - float(m.group(1)))
                processing.append(float(m.group(2)))
                sizes.append(len(text))
    return count


def run(clients: int = 20, seconds: float = 60.0, warm_up_s: float = 75.0, scenario: str = "swarm-1000") -> dict[str, Any]:
    """Serve ``scenario`` in real time, connect ``clients`` after ``warm_up_s`` (swarm-1000: its three waves of
    drones are all flying by 70 s), measure for ``seconds``."""
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "SKYWARDEN_KEY": str(Path(tmp) / "key.pem"), "COLUMNS": "200"}
        proc = subprocess.Popen([sys.executable, "-m", "skywarden.cli", "serve", "--scenario", scenario, "--port",
                                 str(port), "--speed", "1", "--data", str(Path(tmp) / "data")],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert proc.stdout is not None
            token = None
            while token is None:
                line = proc.stdout.readline()
                if not line:
                    raise SystemExit(f"serve exited: {proc.stderr.read() if proc.stderr else ''}")
                if m := re.match(r"\s+viewer\s+token: (\S+)", line):
                    token = m.group(1)
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"{base}/api/health", timeout=1).json()["scans"] > 0:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.5)
            time.sleep(warm_up_s)
            tracks_before = httpx.get(f"{base}/api/health", timeout=5).json()["tracks"]
            latencies: list[float] = []
            processing: list[float] = []
            sizes: list[int] = []
            uri = f"ws://127.0.0.1:{port}/api/stream"

            async def all_clients() -> list[int]:
                until = time.monotonic() + seconds
                return await asyncio.gather(*(_client(uri, token, until, latencies, processing, sizes) for _ in range(clients)))

            received = asyncio.run(all_clients())
            health = httpx.get(f"{base}/api/health", timeout=5).json()
            metrics = httpx.get(f"{base}/metrics", timeout=5).text
        finally:
            proc.send_signal(signal.SIGINT)
            proc.communicate(timeout=60)
    lat = np.array(latencies) * 1e3
    waits = re.search(r"^skywarden_feed_waits_total ([0-9.e+]+)", metrics, re.M)
    return {"scenario": scenario, "warm_up_s": warm_up_s, "clients": clients, "seconds": seconds, "pictures": len(lat), "messages": int(sum(received)),
            "tracks": (tracks_before, health["tracks"]), "p50_ms": float(np.percentile(lat, 50)), "p99_ms": float(np.percentile(lat, 99)),
            "max_ms": float(lat.max()), "process_p50_ms": float(np.percentile(processing, 50)),
            "process_p99_ms": float(np.percentile(processing, 99)), "picture_kb": float(np.mean(sizes)) / 1e3,
            "feed_waits": float(waits.group(1)) if waits else None}


if __name__ == "__main__":
    r = run(seconds=float(sys.argv[1]) if len(sys.argv) > 1 else 60.0)
    print(f"{r['clients']} clients, {r['tracks'][0]}-{r['tracks'][1]} tracks, {r['pictures']} pictures received in {r['seconds']:.0f} s "
          f"({r['picture_kb']:.0f} kB each): latency p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, "
          f"max {r['max_ms']:.1f} ms (of which processing p50 {r['process_p50_ms']:.1f} ms, p99 "
          f"{r['process_p99_ms']:.1f} ms); feed waits {r['feed_waits']}")
