"""Generation layer: one interface, an offline extractive default, optional remote/local models."""
