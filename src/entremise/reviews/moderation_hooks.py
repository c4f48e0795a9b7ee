"""Reviews as a kind of content the moderation queue handles: importing the reviews service
registers the `review` kind (`locate`, `apply`); the queue imports this module before its first
lookup, so a notice about a review works even where nothing else imported reviews yet."""

from __future__ import annotations

from entremise.reviews import service as _reviews  # noqa: F401 (registers the "review" content kind)
