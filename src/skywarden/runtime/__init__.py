"""Drivers above the pipeline: the evidence-first recorder, replay of a scenario, re-run of a ledger."""
