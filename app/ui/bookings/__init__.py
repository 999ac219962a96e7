"""The Bookings page: stats, filters, table and calendar, detail, actions."""
