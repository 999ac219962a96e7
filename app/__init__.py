"""BookingTMS Desk: the front-desk application and its sync service."""
