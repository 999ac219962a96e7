"""Activities, their weekly schedules and the dated sessions generated from them."""
