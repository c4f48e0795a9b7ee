"""Uploaded files: sniffed types, per-purpose rules, storage outside the web root, grants."""
