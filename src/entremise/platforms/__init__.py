"""Platforms: one deployment hosts several, each with its own settings, terms and users."""
