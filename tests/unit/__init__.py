"""Domain services and platform pieces, without HTTP."""
