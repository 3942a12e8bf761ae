"""Incident reports: a self-contained HTML file with maps, timeline and per-target plots of a run."""

from skywarden.report.html import write_report

__all__ = ["write_report"]
