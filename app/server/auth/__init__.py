"""Staff identity: passwords, login tokens, roles, and the request's principal."""
