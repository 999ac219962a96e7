"""The desk's use cases: what the UI calls. Never imports Qt; talks to the API client."""
