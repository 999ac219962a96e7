"""The desk sync engine."""
