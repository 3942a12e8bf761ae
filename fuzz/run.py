"""Coverage-guided fuzzing of Skywarden's parsers of outside input with Atheris (libFuzzer for Python).

``python fuzz/run.py [TARGET ...] [--runs N]`` runs each target of ``fuzz/targets.py`` (default: all) for N
executions in a process of its own, its corpus seeded with the target's genuine inputs, then prints a table:
cases run, typed rejections and accepted inputs, findings, time and executions per second. A finding is any
exception other than the target's typed errors (each distinct one is saved with its input and traceback under
``fuzz/findings/``), or a timeout, out-of-memory or crash that libFuzzer reports; the exit status is 1 if
there is any. Unrecognised ``-flag=value`` arguments go to libFuzzer as they are (e.g. ``-seed=1``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FINDINGS = ROOT / "fuzz" / "findings"
STATS_EVERY = 10_000  # a child writes its counts this often, and after its last run


def _where(exc: BaseException) -> str:
    """The innermost frame of our code that the exception passed through (what makes two findings the same)."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/skywarden/" in f.filename] or frames
    return f"{Path(ours[-1].filename).name}:{ours[-1].lineno}" if ours else "?"


def child(name: str, stats_path: Path, runs: int, libfuzzer_args: list[str]) -> None:
    """Fuzz one target in this process (Atheris can set up only once per process); never returns."""
    import atheris
    from atheris.import_hook import HookManager

    sys.path.insert(0, str(ROOT))
    # Branch coverage of our code and of tomllib guides the fuzzer; comparison tracing (trace_dataflow) stays
    # off: atheris 3.0 keeps a reference to the result of every NumPy array comparison it traces, and the
    # process grows by ~4 kB a case until libFuzzer stops it for running out of memory.
    with HookManager({"skywarden", "tomllib"}, set(), enable_loader_override=True, trace_dataflow=False):
        from fuzz.targets import TARGETS
    target = TARGETS[name]
    findings: dict[str, dict[str, Any]] = {}
    calls, started = 0, 0.0

    def write_stats() -> None:
        stats = {"calls": calls, "accepted": target.accepted, "rejected": target.rejected,
                 "seconds": time.perf_counter() - started, "findings": list(findings.values())}
        stats_path.with_suffix(".tmp").write_text(json.dumps(stats))
        stats_path.with_suffix(".tmp").replace(stats_path)

    def one(data: bytes) -> None:
        nonlocal calls, started
        calls += 1
        started = started or time.perf_counter()
        try:
            target(data)
        except Exception as exc:  # a finding: keep the first input of each distinct one, and go on
            key = f"{type(exc).__name__} at {_where(exc)}"
            if key not in findings:
                stem = FINDINGS / f"{name}-{type(exc).__name__}-{hashlib.sha1(data).hexdigest()[:12]}"
                FINDINGS.mkdir(parents=True, exist_ok=True)
                stem.with_suffix(".bin").write_bytes(data)
                stem.with_suffix(".txt").write_text("".join(traceback.format_exception(exc)))
                findings[key] = {"what": key, "message": str(exc)[:200], "count": 0, "input": str(stem) + ".bin"}
                print(f"FINDING {name}: {key}: {str(exc)[:200]}", file=sys.stderr, flush=True)
            findings[key]["count"] += 1
        if calls % STATS_EVERY == 0 or calls >= runs:
            write_stats()

    atheris.Setup([sys.argv[0], *libfuzzer_args], one)
    atheris.Fuzz()


def run_target(name: str, seeds: list[bytes], args: argparse.Namespace, extra: list[str]) -> dict[str, Any]:
    """Fuzz one target in a child process, its corpus seeded with ``seeds``; what it ran, what it found, how long
    it took (wall clock, the child's start-up included)."""
    with tempfile.TemporaryDirectory(prefix=f"fuzz-{name}-") as tmp:
        corpus, stats_path, log_path = Path(tmp, "corpus"), Path(tmp, "stats.json"), Path(tmp, "libfuzzer.log")
        corpus.mkdir()
        for i, seed in enumerate(seeds):
            (corpus / f"seed-{i}").write_bytes(seed)
        FINDINGS.mkdir(parents=True, exist_ok=True)
        flags = [f"-runs={args.runs}", f"-max_len={args.max_len}", f"-timeout={args.timeout}",
                 f"-rss_limit_mb={args.rss_limit_mb}", "-print_final_stats=1", f"-artifact_prefix={FINDINGS}/{name}-",
                 *extra, str(corpus)]
        print(f"{name}: {len(seeds)} seeds, {args.runs:,} runs ...", flush=True)
        start = time.perf_counter()
        with log_path.open("wb") as log:
            code = subprocess.run([sys.executable, __file__, "--child", name, str(stats_path), str(args.runs), *flags],
                                  stdout=log, stderr=subprocess.STDOUT, check=False).returncode
        seconds = time.perf_counter() - start
        text = log_path.read_text(errors="replace")
        stats = json.loads(stats_path.read_text()) if stats_path.exists() else {"findings": []}
        executed = re.search(r"stat::number_of_executed_units:\s+(\d+)", text)
        findings = list(stats["findings"])
        if code != 0:  # libFuzzer stopped: timeout, out of memory, or a crash outside Python
            reason = re.findall(r"==\d+== ERROR: libFuzzer: (.*)", text) or [f"exit status {code}"]
            kept = FINDINGS / f"{name}-libfuzzer.log"
            kept.write_text(text)
            findings.append({"what": f"libFuzzer: {reason[-1]}", "message": "", "count": 1, "input": str(kept)})
        return {"target": name, "cases": int(executed.group(1)) if executed else stats.get("calls", 0),
                "accepted": stats.get("accepted", 0), "rejected": stats.get("rejected", 0), "findings": findings,
                "seconds": seconds, "exec_per_s": round(stats.get("calls", 0) / max(stats.get("seconds", 0.0), 1e-9))}


HEAD = f"{'target':<15}{'cases':>12}{'rejected':>12}{'accepted':>12}{'findings':>10}{'time':>9}{'exec/s':>9}"


def row(r: dict[str, Any]) -> str:
    """One target's line of the table."""
    return (f"{r['target']:<15}{r['cases']:>12,}{r['rejected']:>12,}{r['accepted']:>12,}{len(r['findings']):>10}"
            f"{r['seconds']:>8.0f}s{r['exec_per_s']:>9,}")


def summary(rows: list[dict[str, Any]]) -> str:
    """The results as a table, then one line per finding."""
    lines = [HEAD, "-" * len(HEAD), *map(row, rows)]
    lines += [f"{r['target']}: {f['what']} ({f['count']} inputs): {f['message']} -> {f['input']}"
              for r in rows for f in r["findings"]]
    return "\n".join(lines)


def main() -> int:
    """Fuzz each target named (default: all) in turn and print the summary; 1 if anything was found."""
    sys.path.insert(0, str(ROOT))
    from fuzz.targets import TARGETS  # the registry only: each child imports it again, instrumented

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("targets", nargs="*", metavar="TARGET", help=f"default: all ({', '.join(TARGETS)})")
    parser.add_argument("--runs", type=int, default=1_000_000, help="executions per target (default 1,000,000)")
    parser.add_argument("--max-len", type=int, default=16_384, help="longest input in bytes (seeds are cut to it)")
    parser.add_argument("--timeout", type=int, default=20, help="seconds one input may take before it is a finding")
    parser.add_argument("--rss-limit-mb", type=int, default=2048, help="memory a target may use")
    args, extra = parser.parse_known_args()
    unknown = [t for t in args.targets if t not in TARGETS] + [f for f in extra if not f.startswith("-")]
    if unknown:
        parser.error(f"unknown target(s) {', '.join(unknown)} (known: {', '.join(TARGETS)})")
    start = time.perf_counter()
    rows = []
    print(HEAD)
    for name in args.targets or list(TARGETS):
        rows.append(run_target(name, list(TARGETS[name].seeds()), args, extra))
        print(row(rows[-1]), flush=True)
    print(f"\n{summary(rows)}\ntotal {(time.perf_counter() - start) / 60:.1f} min")
    return 1 if any(r["findings"] for r in rows) else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:  # run.py --child TARGET STATS RUNS LIBFUZZER-ARGS...
        child(sys.argv[2], Path(sys.argv[3]), int(sys.argv[4]), sys.argv[5:])
    sys.exit(main())
