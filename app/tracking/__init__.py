"""Live tracking: where each running bus is, from drivers' phones and hardware trackers."""
