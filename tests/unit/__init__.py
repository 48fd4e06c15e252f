"""Tests of single pieces, without HTTP."""
