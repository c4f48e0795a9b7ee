"""Benchmarks: `make bench` (python -m bench). They print figures; they never fail on a timing."""
