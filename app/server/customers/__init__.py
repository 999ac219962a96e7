"""Customers: lookup by e-mail, analytics and segments, notes, merging."""
