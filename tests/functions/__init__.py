"""Tests of each function through the gateway over HTTP."""
