"""Widgets shared by the desk's screens."""
