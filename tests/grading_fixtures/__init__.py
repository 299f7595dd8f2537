"""Fixtures for the grading tests: a tiny NumPy-only assignment and a suite of tampered submissions."""
