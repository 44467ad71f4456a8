"""meetings."""
