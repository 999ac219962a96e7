"""Pure rules shared by the desk and the service: no I/O, no Qt, no SQL."""
