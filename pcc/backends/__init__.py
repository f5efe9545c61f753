"""Backends evaluate circuits: `reference` (the float64 spec) and `torch` (the fast one)."""
