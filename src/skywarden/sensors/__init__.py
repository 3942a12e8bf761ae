"""Sensor inputs: decoded plots and cooperative reports, in the site frame."""

from skywarden.sensors.plots import CoopReport, Plots

__all__ = ["CoopReport", "Plots"]
