"""Bookings: the desk's list and detail, desk bookings, and the lifecycle actions."""
