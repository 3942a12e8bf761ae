"""`skywarden evaluate`: the classifier and the alerting measured on random labelled scenes (see :mod:`.evaluate`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from skywarden.config import ConfigError

out = Console()
err = Console(stderr=True)


def _seeds(text: str) -> list[int]:
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise typer.BadParameter(f"expected seeds as 1,2,3 (got {text!r})") from None
    if not seeds or min(seeds) < 0:
        raise typer.BadParameter(f"expected one or more non-negative seeds (got {text!r})")
    return seeds


def evaluate(
    seeds: Annotated[str, typer.Option(help="One random scene per seed, comma-separated.")] = "1,2,3,4,5",
    drones: Annotated[int, typer.Option(min=1, max=500, help="Drones per scene.")] = 24,
    birds: Annotated[int, typer.Option(min=1, max=1000, help="Birds per scene.")] = 30,
    traffic: Annotated[int, typer.Option(min=0, max=500, help="Road vehicles per scene.")] = 20,
    aircraft: Annotated[int, typer.Option(min=0, max=100, help="Manned aircraft crossing each scene.")] = 3,
    minutes: Annotated[float, typer.Option(min=1.0, max=120.0, help="Length of each scene.")] = 15.0,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the figures as JSON here.")] = None,
) -> None:
    """Generate random labelled scenes (drones of several types, bird species, road traffic), run them through
    the whole pipeline, and print the confusion matrix, per-class recall, the median time to the right label,
    the intruding drones warned in time and the false alerts per hour."""
    from skywarden.runtime.evaluate import CONFIRMED_BEFORE_S, LABELS, WARNING_S
    from skywarden.runtime.evaluate import evaluate as run

    seed_list = _seeds(seeds)
    scene = {"drones": drones, "birds": birds, "traffic": traffic, "aircraft": aircraft, "duration_s": 60.0 * minutes}
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("scans"),
                  TimeRemainingColumn(), console=err) as progress:
        task = progress.add_task("evaluate", total=None)

        def on_step(i: int, done: int, total: int) -> None:
            progress.update(task, description=f"scene {i + 1}/{len(seed_list)} (seed {seed_list[i]})",
                            completed=done, total=total)

        try:
            result = run(seed_list, scene, on_step=on_step)
        except ConfigError as exc:
            err.print(f"[red]error:[/red] {exc}", highlight=False)
            raise typer.Exit(2) from exc
    figures = result.to_dict()
    table = Table(title=f"Confusion matrix: objects by true class (rows) and label (columns), seeds {seeds}",
                  title_justify="left")
    table.add_column("true \\ label")
    for label in LABELS:
        table.add_column(label, justify="right")
    table.add_column("recall", justify="right")
    for kind, row in figures["confusion"].items():
        recall = figures["recall"][kind]
        table.add_row(kind, *(str(row[lab]) for lab in LABELS), "–" if recall is None else f"{recall:.3f}")
    out.print(table)

    def share(v: float | None) -> str:
        return "–" if v is None else f"{100 * v:.1f} %"

    def secs(v: float | None) -> str:
        return "–" if v is None else f"{v:.1f} s"

    warned = figures["intruding_drones_warned"]
    times = figures["median_time_to_label_s"]
    out.print(f"drone recall (−20 dBsm and more): {share(figures['drone_recall_min_20dbsm'])}   "
              f"birds labelled drone: {share(figures['birds_labelled_drone'])}")
    right = figures["time_labelled_right"]
    out.print("share of the time held with the right label: " + ", ".join(f"{k} {share(v)}" for k, v in right.items())
              + f"   drones' time confidently harmless (silenced): {share(figures['drone_time_silenced'])}")
    out.print("median time to the right label: " + ", ".join(f"{k} {secs(times[k])}" for k in (*figures["recall"], "all")))
    out.print(f"intruding drones alerted ≥ {WARNING_S:.0f} s before their asset (confirmed ≥ {CONFIRMED_BEFORE_S:.0f} s "
              f"before): {warned['in_time']} of {warned['could_be']} ({share(warned['share'])})")
    fa = figures["false_alerts"]
    out.print(f"false alerts: {figures['false_alerts_per_hour']:.2f} per hour over {figures['hours']:.2f} h "
              f"(birds {fa['bird']}, vehicles {fa['vehicle']}, false tracks {fa['no object']})")
    if json_out is not None:
        json_out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
        out.print(f"figures: {json_out}")
