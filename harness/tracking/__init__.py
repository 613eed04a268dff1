"""W&B: the mirror of every run (sink, settings) and `harness pull` (W&B runs into the store)."""
