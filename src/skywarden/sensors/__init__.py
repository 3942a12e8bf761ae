"""Sensor inputs: decoded plots and cooperative reports, in the site frame."""

from skywarden.sensors.plots import CoopReport, Coverage, Plots

__all__ = ["CoopReport", "Coverage", "Plots"]
