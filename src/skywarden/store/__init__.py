"""Storage of what the live service acknowledged: events, incidents, actions, trails, tokens, config."""

from skywarden.store.sqlite import MIGRATIONS, SCHEMA_VERSION, Store, StoreError

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "Store", "StoreError"]
