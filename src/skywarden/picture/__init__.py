"""The air picture: who each track is (identity, permits) and what it is (classification)."""
