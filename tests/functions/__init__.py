"""Every function through the gateway over HTTP, bad inputs included."""
