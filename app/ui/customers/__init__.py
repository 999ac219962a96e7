"""The Customers page: segment cards, search, table, detail with history and edits."""
