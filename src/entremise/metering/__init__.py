"""Metered sessions: per-minute calls and video, rating, settlement, statements (docs/metering.md)."""
