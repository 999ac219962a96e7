"""Settings, errors, database plumbing and the application factory."""
