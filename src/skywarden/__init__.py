"""Skywarden: open airspace security — sense, track, decide, respond, prove, show."""

__version__ = "0.1.0"
