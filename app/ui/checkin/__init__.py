"""The Check-in page: scan or type a number, today's arrivals, undo, parties in parts."""
