"""Respond: incidents, effectors, where a disabled drone falls and where it came from."""
