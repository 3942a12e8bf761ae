"""The built-in scenarios' outcomes over several seeds: drones alerted, intruders warned in time, false alerts.

The README's table under "The classifier and the alerting, measured" comes from this script; each line
is a Markdown table row.
"""

from __future__ import annotations

from skywarden.metrics import summarize
from skywarden.runtime.evaluate import CONFIRMED_BEFORE_S, WARNING_S, outcomes
from skywarden.runtime.scene import run_scene
from skywarden.sim.scenario import load_scenario

SEEDS: dict[str, list[int | None]] = {
    "kremlin-2023-05-03": [None, *range(1, 11)],
    "quadcopter-raid": [None, *range(1, 11)],
    "crossing-drones": [None, *range(1, 11)],
    "birds-only": [None, 1, 2, 3, 4],
}


def row(name: str, seeds: list[int | None]) -> str:
    """One scenario over its seeds, as a Markdown table row."""
    scenario = load_scenario(name)
    warned = able = false = alerted = drones = survey = 0
    warnings: list[float] = []
    for seed in seeds:
        run = run_scene(scenario, seed)
        false += sum(outcomes(run, 0)[1].values())
        for r in summarize(run.record)["per_truth"]:
            if r["kind"] != "drone":
                continue
            if r["truth_id"] == "fso-survey":  # flies under a permit
                survey += r["alert_t"] is not None
                continue
            drones += 1
            alerted += r["alert_t"] is not None
            reached, confirmed, alert = r["reached_asset_t"], r["confirmed_t"], r["alert_t"]
            if reached is not None and confirmed is not None and reached - confirmed >= CONFIRMED_BEFORE_S:
                able += 1
                warned += alert is not None and reached - alert >= WARNING_S
                if alert is not None:
                    warnings.append(reached - alert)
    hours = len(seeds) * scenario.duration_s / 3600.0
    least = f"{min(warnings):.0f} s" if warnings else "–"
    return (f"| `{name}` | {len(seeds)} | {alerted} of {drones} | {warned} of {able} | {least} | "
            f"{false} ({false / hours:.2f}/h) | {survey} |")


if __name__ == "__main__":
    for name, seeds in SEEDS.items():
        print(row(name, seeds), flush=True)
