"""Signing in: the login dialog."""
