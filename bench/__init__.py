"""Benchmarks: scripts run with ``python -m bench.<name>``, each printing a table of figures."""
