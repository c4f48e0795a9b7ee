"""Notices, the moderation queue, statements of reasons and internal complaints (docs/moderation.md)."""
