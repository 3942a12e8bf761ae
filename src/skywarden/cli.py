"""`skywarden …` command line: parses, calls the library, prints. Nothing else lives here."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from skywarden import __version__
from skywarden.config import ConfigError
from skywarden.events import Event, ThreatRaised, TrackIdentified, ZoneViolation
from skywarden.runtime import commands as evaluate_commands
from skywarden.service import commands as service_commands

if TYPE_CHECKING:
    from skywarden.evidence import Entry, Ledger
    from skywarden.response.incidents import Incident
    from skywarden.runtime.rerun import Rerun
    from skywarden.sim.engine import Simulation
    from skywarden.sim.generate import GeneratedScenario

app = typer.Typer(help="Skywarden: open airspace security — replay scenarios, track, alert, report.",
                  no_args_is_help=True, add_completion=False)
out = Console()
err = Console(stderr=True)


def _version(value: bool) -> None:
    if value:
        out.print(f"skywarden {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Skywarden command line."""


@app.command()
def scenarios() -> None:
    """List the built-in scenarios."""
    from skywarden.sim.scenario import builtin_scenarios, load_scenario

    table = Table(title="Built-in scenarios", title_justify="left")
    table.add_column("name", style="bold")
    table.add_column("duration", justify="right")
    table.add_column("description")
    for name in sorted(builtin_scenarios()):
        sc = load_scenario(name)
        table.add_row(name, f"{sc.duration_s / 60:.0f} min", sc.description)
    out.print(table)


KeyOption = Annotated[Path | None, typer.Option(
    "--key", help="The site's private signing key (created on first use, mode 0600); default $SKYWARDEN_KEY "
                  "or ~/.skywarden/site-key.pem.")]


def _is_ledger(path: str) -> bool:
    """Whether ``path`` is a ledger file (by its first bytes), as opposed to a scenario name or file."""
    from skywarden.evidence.encoding import MAGIC

    try:
        with open(path, "rb") as f:
            return f.read(len(MAGIC)) == MAGIC
    except OSError:
        return False


@app.command()
def replay(
    scenario: Annotated[str, typer.Argument(help="A built-in scenario name (see `skywarden scenarios`), a scenario "
                                                 ".toml file, or a ledger to re-run.")],
    seed: Annotated[int | None, typer.Option(min=0, help="Random seed; default: the scenario's own.")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Output folder; default: out/<scenario>.")] = None,
    key: KeyOption = None,
    sign_every: Annotated[float, typer.Option("--sign-every", min=0.001, help="Sign a tree head every this many "
                                              "seconds of data (and always at the end).")] = 1.0,
) -> None:
    """Replay a scenario through the whole pipeline into a signed ledger (DIR/ledger, public key beside it);
    write events.jsonl, summary.json and report.html. Given a ledger, re-run its raw inputs and check that
    every recorded event comes out again, bit for bit."""
    if _is_ledger(scenario):
        _replay_ledger(Path(scenario), out_dir)
        return
    from skywarden.evidence import Ledger, LedgerError, SiteKey, default_key_path, public_key_path
    from skywarden.runtime.replay import replay as run_replay
    from skywarden.runtime.replay import write_outputs
    from skywarden.sim.scenario import load_scenario

    try:
        loaded = load_scenario(scenario)
    except ConfigError as exc:
        err.print(f"[red]error:[/red] {exc}", markup=True, highlight=False)
        raise typer.Exit(2) from exc
    target = out_dir or Path("out") / loaded.name
    ledger_path = target / "ledger"
    try:
        site_key = SiteKey.load_or_create(key or default_key_path())
        target.mkdir(parents=True, exist_ok=True)
        if ledger_path.exists():  # a simulated run is reproducible from its seed: the new one replaces it
            err.print(f"replacing the ledger of the previous run in {target}")
            ledger_path.unlink()
            public_key_path(ledger_path).unlink(missing_ok=True)
        ledger = Ledger.create(ledger_path, site_key, sign_every)
    except OSError as exc:
        _fail(f"cannot write the results to {target}: {exc.strerror}")
    except LedgerError as exc:
        _fail(f"cannot set up the ledger in {target}: {exc}")
    with ledger, Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                          TextColumn("scans"), TimeRemainingColumn(), console=err) as progress:
        task = progress.add_task(f"replay {loaded.name}", total=None)

        def on_step(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        record = run_replay(loaded, seed, on_step, ledger)
    try:
        with err.status("writing events, summary and report"):
            result = write_outputs(record, target)
    except OSError as exc:
        err.print(f"[red]error:[/red] cannot write the results to {target}: {exc.strerror}", highlight=False)
        raise typer.Exit(2) from exc
    _print_timeline(record.events, record.site.tz)
    _print_outcome(result.summary, record.site.tz)
    out.print(f"report: [bold]{result.files['report']}[/bold]")
    out.print(f"events: {result.files['events']}   summary: {result.files['summary']}")
    out.print(f"ledger: {ledger_path} ({ledger.size} entries, {len(ledger.heads)} signed tree heads)")
    out.print(f"public key: {public_key_path(ledger_path)}   check with: skywarden verify {ledger_path}")


def _rerun_with_progress(entries: Iterator[Entry], total: int, label: str) -> Rerun:
    """Re-run ledger entries (see :func:`skywarden.runtime.rerun.rerun`) with a progress bar over them."""
    from skywarden.runtime.rerun import rerun

    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("entries"),
                  TimeRemainingColumn(), console=err) as progress:
        task = progress.add_task(label, total=total)
        return rerun(entries, lambda i: progress.update(task, completed=i + 1) if i % 256 == 0 else None)


def _replay_ledger(path: Path, out_dir: Path | None) -> None:
    """``replay LEDGER``: re-run, compare, and write the outputs of the re-run."""
    from skywarden.evidence import Ledger, LedgerError
    from skywarden.runtime.replay import write_outputs

    try:
        with Ledger.open(path) as ledger:
            result = _rerun_with_progress(ledger.entries(), ledger.size, f"re-run {path}")
    except LedgerError as exc:
        _fail(str(exc))
    target = out_dir or path.parent / "rerun"
    written = write_outputs(result.record, target)
    _print_timeline(result.record.events, result.record.site.tz)
    out.print(f"report: [bold]{written.files['report']}[/bold]   events: {written.files['events']}")
    if result.identical:
        out.print(f"[green]identical:[/green] {result.scans} scans re-run; all {result.compared_events} recorded "
                  f"events and track digests came out again, bit for bit")
        return
    for line in result.differences:
        out.print(f"[red]difference:[/red] {escape(line)}", highlight=False)
    raise typer.Exit(1)


@app.command()
def verify(
    path: Annotated[Path, typer.Argument(help="A ledger, or an incident bundle (.zip).")],
    public_key: Annotated[Path | None, typer.Option(
        "--public-key", help="The site's public key (PEM) to trust; default: the key recorded in the ledger or bundle.")] = None,
    no_replay: Annotated[bool, typer.Option("--no-replay", help="Bundle: check proofs and signatures only.")] = False,
) -> None:
    """Check a ledger (every entry, signed head and consistency step) or an incident bundle (its proofs and
    signature, then a bit-for-bit re-run of its raw inputs). Exit 0 when everything holds, 1 otherwise."""
    from skywarden.evidence import verify_ledger
    from skywarden.runtime.bundle import verify_bundle

    try:
        trusted = public_key.read_bytes() if public_key is not None else None
    except OSError as exc:
        _fail(f"cannot read the public key {public_key}: {exc.strerror}")
    if path.suffix.lower() == ".zip" or zipfile.is_zipfile(path):
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("entries"), console=err) as progress:
            task = progress.add_task(f"verify {path.name}", total=None)
            bundle = verify_bundle(path, trusted, not no_replay,
                                   lambda i: progress.update(task, completed=i + 1) if i % 256 == 0 else None)
        for line in bundle.warnings:
            out.print(f"[bold yellow]WARNING[/bold yellow] {escape(line)}", highlight=False)
        for line in bundle.checks:
            out.print(f"[green]ok[/green]   {escape(line)}", highlight=False)
        for line in bundle.problems:
            out.print(f"[red]FAIL[/red] {escape(line)}", highlight=False)
        if bundle.ok:
            out.print(f"incident {escape(bundle.incident)}: [green]verified[/green]", highlight=False)
            raise typer.Exit(0)
        out.print(f"incident {escape(bundle.incident)}: [red]NOT verified:[/red] {escape(bundle.problems[0])}",
                  highlight=False)
        raise typer.Exit(1)
    with err.status(f"verifying {path}"):
        report = verify_ledger(path, trusted)
    if report.ok:
        if trusted is None:
            out.print("[bold yellow]WARNING[/bold yellow] no --public-key given: trusted the key recorded in the "
                      "ledger; check its key id against the site's published key", highlight=False)
        out.print(f"[green]verified:[/green] {escape(report.message)}", highlight=False)
        return
    where = f"entry {report.first_bad_index}: " if report.first_bad_index is not None else ""
    out.print(f"[red]NOT verified:[/red] {where}{report.reason}: {escape(report.message)}", highlight=False)
    raise typer.Exit(1)


incident_app = typer.Typer(help="Incidents: list them, export one as a bundle anyone can verify.", no_args_is_help=True)
app.add_typer(incident_app, name="incident")
LedgerOption = Annotated[Path, typer.Option("--ledger", help="The ledger to read.")]
DEFAULT_LEDGER = Path("out/kremlin-2023-05-03/ledger")


def _incidents_of(ledger: Ledger) -> tuple[list[Incident], Rerun, list[Entry]]:
    """The incidents of an open ledger, found from a re-run of it (which also proves its events are
    reproducible), with the re-run and the entries read for it."""
    from skywarden.response.incidents import find_incidents

    entries = list(ledger.entries())
    result = _rerun_with_progress(iter(entries), len(entries), f"read {ledger.path}")
    end = float(result.record.scan_times[-1]) if len(result.record.scan_times) else 0.0
    return find_incidents(result.record.events, end), result, entries


@incident_app.command("list")
def incident_list(ledger: LedgerOption = DEFAULT_LEDGER) -> None:
    """List the incidents recorded in a ledger."""
    from skywarden.evidence import Ledger, LedgerError

    try:
        with Ledger.open(ledger) as led:
            incidents, result, _ = _incidents_of(led)
    except LedgerError as exc:
        _fail(str(exc))
    tz = result.record.site.tz
    table = Table(title=f"Incidents in {ledger}", title_justify="left")
    for col in ("id", "from", "to", "first alert", "tracks", "zones"):
        table.add_column(col)
    for inc in incidents:
        table.add_row(inc.id, _clock(inc.t_start, tz), _clock(inc.t_end, tz), _clock(inc.first_alert_t, tz),
                      ", ".join(inc.track_ids), ", ".join(inc.zone_ids))
    out.print(table if incidents else "no incidents")


@incident_app.command("export")
def incident_export(
    incident_id: Annotated[str, typer.Argument(metavar="ID", help="Incident id, e.g. INC-0001 (see `incident list`).")],
    out_file: Annotated[Path, typer.Option("--out", help="The bundle to write (.zip).")],
    ledger: LedgerOption = DEFAULT_LEDGER,
    key: Annotated[Path | None, typer.Option(
        "--key", help="The site's private key, which signed the ledger and signs the bundle's manifest "
                      "(default: $SKYWARDEN_KEY, else ~/.skywarden/site-key.pem).")] = None,
) -> None:
    """Write an incident bundle: its entries with inclusion proofs against a signed tree head, the public
    key, software version, site config hash, the incident report, and the manifest signed with the site key."""
    from skywarden.evidence import Ledger, LedgerError, SiteKey, default_key_path
    from skywarden.metrics import summarize
    from skywarden.report.html import render_report
    from skywarden.runtime.bundle import export_bundle

    try:
        site_key = SiteKey.load(key or default_key_path())
        with Ledger.open(ledger) as led:
            if led.public_key_pem() != site_key.public_key_pem():
                _fail(f"cannot export {incident_id}: the key {key or default_key_path()} (key id {site_key.key_id}) "
                      f"did not sign {ledger}; give the site's key with --key")
            incidents, result, entries = _incidents_of(led)
            chosen = next((i for i in incidents if i.id == incident_id), None)
            if chosen is None:
                _fail(f"no incident {incident_id!r} in {ledger} "
                      f"(there are: {', '.join(i.id for i in incidents) or 'none'})")
            report = render_report(result.record, summarize(result.record))
            manifest = export_bundle(led, entries, chosen, out_file, report, site_key)
    except (LedgerError, OSError) as exc:
        _fail(f"cannot export {incident_id}: {exc}")
    out.print(f"wrote [bold]{out_file}[/bold]: {incident_id}, {len(manifest['window_entries'])} entries in its window, "
              f"{manifest['bundled_entries']} bundled for the re-run, signed head of {manifest['tree_head']['tree_size']}")


def _open_out(path: str) -> contextlib.AbstractContextManager[IO[str]]:
    """A text file to write lines to ("-": standard output); OSError when it cannot be created."""
    if path == "-":
        return contextlib.nullcontext(sys.stdout)
    return open(path, "w", encoding="utf-8")


def _fail(message: str) -> NoReturn:
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False)
    raise typer.Exit(2)


@app.command()
def simulate(
    scenario: Annotated[str | None, typer.Argument(help="A built-in scenario name or a scenario .toml file "
                                                        "(leave out with --generate).")] = None,
    plots_out: Annotated[str, typer.Option("--plots-out", help="Plots, one scan per line ('-': standard output).")] = "-",
    truth_out: Annotated[str | None, typer.Option("--truth-out", help="Truth, one line per scan.")] = None,
    seed: Annotated[int | None, typer.Option(min=0, help="Random seed; default: the scenario's own (0 with --generate).")] = None,
    generate: Annotated[bool, typer.Option("--generate", help="Generate a scenario from the options below.",
                                           rich_help_panel="Generated scenario")] = False,
    targets: Annotated[int, typer.Option(min=0, help="Number of targets.", rich_help_panel="Generated scenario")] = 100,
    clutter: Annotated[float, typer.Option(min=0.0, help="Mean clutter plots per scan.",
                                           rich_help_panel="Generated scenario")] = 10.0,
    pd: Annotated[float, typer.Option(min=0.0, max=1.0, help="Detection probability.",
                                      rich_help_panel="Generated scenario")] = 0.9,
    sigma: Annotated[float, typer.Option(min=0.0, help="Plot noise, metres (polar: in range and across at the area edge).",
                                         rich_help_panel="Generated scenario")] = 5.0,
    sensors: Annotated[int, typer.Option(min=1, help="Number of radars.", rich_help_panel="Generated scenario")] = 1,
    duration: Annotated[float, typer.Option(min=0.0, help="Duration, seconds.", rich_help_panel="Generated scenario")] = 100.0,
    scan_period: Annotated[float, typer.Option(min=0.0, help="Scan period of each radar, seconds.",
                                               rich_help_panel="Generated scenario")] = 1.0,
    frame: Annotated[str, typer.Option(help="Plot frame: enu or polar.", rich_help_panel="Generated scenario")] = "enu",
) -> None:
    """Simulate a scenario and record its radar plots (and truth) as JSON lines, the input of `skywarden track`."""
    from skywarden.sensors.jsonl import encode_plots, encode_truth

    if generate == (scenario is not None):
        _fail("give either a SCENARIO or --generate (with its options), not both or neither")
    source: GeneratedScenario | Simulation
    if generate:
        from skywarden.sim.generate import generate_scenario

        try:
            source = generate_scenario(targets, clutter, pd, sigma, sensors, duration, scan_period, seed or 0,
                                       frame)  # type: ignore[arg-type]
        except ValueError as exc:
            _fail(f"--generate: {exc}")
        name = f"{targets} generated targets"
    else:
        from skywarden.sim.engine import Simulation
        from skywarden.sim.scenario import load_scenario

        try:
            source = Simulation(load_scenario(str(scenario)), seed)
        except ConfigError as exc:
            _fail(str(exc))
        name = source.scenario.name
    ids, kinds = source.truth_ids, source.truth_kinds
    records = ((s.scan.plots, functools.partial(encode_truth, s.t, ids, kinds, s.truth.pos, s.truth.vel,
                                                s.truth.alive, s.truth.in_coverage))
               for s in source.steps())
    total = source.n_steps
    try:
        with _open_out(plots_out) as plots_file, \
                (_open_out(truth_out) if truth_out else contextlib.nullcontext()) as truth_file, \
                Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                         TextColumn("scans"), TimeRemainingColumn(), console=err) as progress:
            task = progress.add_task(f"simulate {name}", total=total)
            for plots, truth_line in records:
                plots_file.write(encode_plots(plots) + "\n")
                if truth_file is not None:
                    truth_file.write(truth_line() + "\n")
                progress.advance(task)
    except OSError as exc:
        _fail(f"cannot write {exc.filename or 'the output'}: {exc.strerror}")


def _list_params(value: bool) -> None:
    if not value:
        return
    from skywarden.tracking.stream import param_fields, type_name
    from skywarden.tracking.tracker import TrackerParams

    defaults = TrackerParams()
    table = Table(title="Tracker parameters (--param name=value; tuples as a,b)", title_justify="left")
    for col in ("name", "type", "default"):
        table.add_column(col)
    for name, kind in param_fields().items():
        table.add_row(name, escape(type_name(kind)), escape(str(getattr(defaults, name))))
    out.print(table)
    raise typer.Exit()


@app.command()
def track(
    plots_in: Annotated[str, typer.Argument(metavar="PLOTS.jsonl",
                                            help="Recorded plots, one scan per line ('-': standard input).")],
    out_path: Annotated[str, typer.Option("--out", help="Track snapshots, one line per scan ('-': standard output).")] = "-",
    associator: Annotated[str | None, typer.Option(help="Association method, e.g. gnn or jpda (if the tracker has one).")] = None,
    confirm: Annotated[str | None, typer.Option(metavar="M/N", help="Confirm tracks with M hits in N scans.")] = None,
    max_misses: Annotated[int | None, typer.Option(min=1, help="Consecutive misses that delete a confirmed track.")] = None,
    param: Annotated[list[str] | None, typer.Option(metavar="NAME=VALUE",
                                                    help="Set any tracker parameter (see --list-params); repeatable.")] = None,
    stats: Annotated[bool, typer.Option("--stats", help="Print a summary: scans, plots, tracks, ms per scan, plots/s.")] = False,
    list_params: Annotated[bool, typer.Option("--list-params", callback=_list_params, is_eager=True,
                                              help="List the tracker parameters and exit.")] = False,
) -> None:
    """Track recorded plots, streaming: one line of tracks out per scan in; bad lines are reported and skipped
    (exit 1 when there was any, after the good ones were tracked)."""
    from skywarden.tracking.stream import track_lines, tracker_params
    from skywarden.tracking.tracker import Tracker

    overrides: dict[str, str] = {}
    for item in param or []:
        name, sep, value = item.partition("=")
        if not sep:
            _fail(f"--param {item!r}: expected NAME=VALUE")
        overrides[name.strip()] = value.strip()
    if associator is not None:
        overrides["associator"] = associator
    if max_misses is not None:
        overrides["max_misses"] = str(max_misses)
    if confirm is not None:
        m, sep, n = confirm.partition("/")
        if not sep:
            _fail(f"--confirm {confirm!r}: expected M/N, e.g. 3/4")
        overrides["confirm_m"], overrides["confirm_n"] = m, n
    try:
        tracker = Tracker(tracker_params(overrides))
    except ValueError as exc:
        _fail(f"tracker parameters: {exc}")
    try:
        source = sys.stdin.buffer if plots_in == "-" else open(plots_in, "rb")  # noqa: SIM115
        size = None if plots_in == "-" else os.fstat(source.fileno()).st_size
    except OSError as exc:
        _fail(f"cannot read {plots_in}: {exc.strerror}")
    try:
        with source, _open_out(out_path) as sink, Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.fields[lines]} lines"),
            TextColumn("{task.fields[rate]:.0f} lines/s"), TextColumn("{task.fields[rejected]} rejected"),
            TimeElapsedColumn(), console=err,
        ) as progress:
            task = progress.add_task(f"track {Path(plots_in).name}", total=size, lines=0, rate=0.0, rejected=0)
            start, shown, done, rejected = time.perf_counter(), 0.0, 0, 0

            def on_reject(number: int, reason: str) -> None:
                nonlocal rejected
                rejected += 1
                progress.console.print(f"{plots_in}: line {number} rejected: {reason}", markup=False, highlight=False)

            def on_line(number: int, n_bytes: int) -> None:
                nonlocal shown, done
                done += n_bytes
                now = time.perf_counter()
                if now - shown > 0.1:
                    shown = now
                    progress.update(task, completed=done, lines=number, rejected=rejected,
                                    rate=number / max(now - start, 1e-9))

            result = track_lines(source, sink.write, tracker, on_reject, on_line)
            progress.update(task, completed=done, lines=result.lines, rejected=rejected,
                            rate=result.lines / max(time.perf_counter() - start, 1e-9))
    except OSError as exc:
        _fail(f"cannot {'write' if exc.filename == out_path else 'read or write'} "
              f"{exc.filename or plots_in}: {exc.strerror}")
    if stats:
        _print_stats(result.summary(), Console(stderr=True) if out_path == "-" else out)
    if rejected:  # the good lines were tracked and written; the exit status says that not all were good
        err.print(f"{plots_in}: {rejected} of {result.lines} lines rejected (see above); the rest were tracked",
                  markup=False, highlight=False)
        raise typer.Exit(1)


def _print_stats(summary: dict[str, float | int], console: Console) -> None:
    table = Table(title="Tracking statistics", title_justify="left")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for name, value in summary.items():
        table.add_row(name.replace("_", " "), f"{value:.3f}" if isinstance(value, float) else str(value))
    console.print(table)


def _clock(t: float, tz: dt.tzinfo) -> str:
    return dt.datetime.fromtimestamp(t, tz).strftime("%H:%M:%S %Z")


def _print_timeline(events: list[Event], tz: dt.tzinfo) -> None:
    table = Table(title="Timeline (alerts, threat rises, cooperative identities)", title_justify="left")
    for col, justify in (("time", "left"), ("track", "left"), ("event", "left"), ("zone / asset", "left"),
                         ("time to asset", "right")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for ev in events:
        if isinstance(ev, ZoneViolation):
            row = (f"[red]INTRUSION[/red] {ev.classification}", f"{ev.zone_id} / {ev.asset_id or '–'}",
                   ev.time_to_asset_s)
        elif isinstance(ev, ThreatRaised):
            colour = {"critical": "red", "high": "dark_orange", "medium": "yellow"}.get(ev.level, "white")
            row = (f"[{colour}]threat {ev.level}[/{colour}]", ev.asset_id, ev.time_to_asset_s)
        elif isinstance(ev, TrackIdentified):
            row = ("[green]identified[/green]", f"{ev.uas_id} (permit {ev.permit_id or 'none'})", None)
        else:
            continue
        tta = "–" if row[2] is None else f"{row[2]:.0f} s"
        table.add_row(_clock(ev.t, tz), ev.track_id, row[0], row[1], tta)
    out.print(table)


def _print_outcome(summary: dict, tz: dt.tzinfo) -> None:
    table = Table(title="Drones", title_justify="left")
    for col in ("truth", "first detected", "confirmed", "alert", "reached asset", "warning", "tracks"):
        table.add_column(col)
    for row in summary["per_truth"]:
        if row["kind"] != "drone":
            continue
        alert, reached = row["alert_t"], row["reached_asset_t"]
        warning = f"{reached - alert:.0f} s" if alert is not None and reached is not None else "–"
        table.add_row(row["truth_id"], *(("–" if v is None else _clock(v, tz)) for v in
                      (row["first_detected_t"], row["confirmed_t"], alert, reached)), warning,
                      ", ".join(row["track_ids"]))
    out.print(table)
    out.print(f"{summary['scans']} scans, {len(summary['alerts'])} alerts, GOSPA mean "
              + (f"{summary['gospa_mean_m']:.1f} m" if summary["gospa_mean_m"] is not None else "— (no truth)"))


app.command()(evaluate_commands.evaluate)
app.command()(service_commands.serve)
token_app = typer.Typer(help="Login tokens for the live service.", no_args_is_help=True)
token_app.command("create")(service_commands.token_create)
token_app.command("list")(service_commands.token_list)
token_app.command("revoke")(service_commands.token_revoke)
app.add_typer(token_app, name="token")

if __name__ == "__main__":
    app()
