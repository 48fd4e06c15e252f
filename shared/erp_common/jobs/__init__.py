"""Jobs: scheduled work and its run log."""
