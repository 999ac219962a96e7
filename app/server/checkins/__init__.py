"""Check-in at the door by booking number, with the answers of DESIGN.md."""
