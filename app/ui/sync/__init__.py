"""The desk's view of its sync: status, first-sync progress, the "Needs attention" list."""
