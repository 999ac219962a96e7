"""Receipts of bookings: the service's side of the PDF receipt (data from the database)."""
