"""`skywarden …` command line: parses, calls the library, prints. Nothing else lives here."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from skywarden import __version__
from skywarden.config import ConfigError
from skywarden.events import Event, ThreatRaised, TrackIdentified, ZoneViolation

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


@app.command()
def replay(
    scenario: Annotated[str, typer.Argument(help="A built-in scenario name (see `skywarden scenarios`) or a scenario .toml file.")],
    seed: Annotated[int | None, typer.Option(min=0, help="Random seed; default: the scenario's own.")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Output folder; default: out/<scenario>.")] = None,
) -> None:
    """Replay a scenario through the whole pipeline; write events.jsonl, summary.json and report.html."""
    from skywarden.pipeline import replay as run_replay
    from skywarden.pipeline import write_outputs
    from skywarden.sim.scenario import load_scenario

    try:
        loaded = load_scenario(scenario)
    except ConfigError as exc:
        err.print(f"[red]error:[/red] {exc}", markup=True, highlight=False)
        raise typer.Exit(2) from exc
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("scans"), TimeRemainingColumn(), console=err) as progress:
        task = progress.add_task(f"replay {loaded.name}", total=None)

        def on_step(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        record = run_replay(loaded, seed, on_step)
    target = out_dir or Path("out") / record.scenario
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


def _clock(t: float, tz: dt.tzinfo) -> str:
    return dt.datetime.fromtimestamp(t, tz).strftime("%H:%M:%S %Z")


def _print_timeline(events: list[Event], tz: dt.tzinfo) -> None:
    table = Table(title="Timeline (alerts, threat rises, cooperative identities)", title_justify="left")
    for col, justify in (("time", "left"), ("track", "left"), ("event", "left"), ("zone / asset", "left"),
                         ("time to asset", "right")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for ev in events:
        if isinstance(ev, ZoneViolation):
            row = ("[red]INTRUSION[/red]", f"{ev.zone_id} / {ev.asset_id or '–'}", ev.time_to_asset_s)
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
    out.print(f"{summary['scans']} scans, {len(summary['alerts'])} alerts, GOSPA mean {summary['gospa_mean_m']:.1f} m")


if __name__ == "__main__":
    app()
