"""The desk's PySide6 user interface: one package per screen, shared widgets."""
