"""Helpers for tests and benchmarks: tiny model folders built locally."""
