"""The simulator: motion models, a radar model, scenario files and the engine that runs them."""

from skywarden.sim.engine import SimStep, Simulation, TruthSnapshot
from skywarden.sim.radar import RadarModel, SimScan
from skywarden.sim.scenario import Scenario, builtin_scenarios, load_scenario

__all__ = [
    "RadarModel",
    "Scenario",
    "SimScan",
    "SimStep",
    "Simulation",
    "TruthSnapshot",
    "builtin_scenarios",
    "load_scenario",
]
