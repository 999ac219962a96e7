"""The Outbox page."""
