"""Environments: which ids exist (catalog, no JAX) and how to step them (backends)."""
