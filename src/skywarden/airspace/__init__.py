"""Airspace: zones with altitude bands and schedules, protected assets, rules and threat."""
