"""Reviews: ratings by the parties of a completed transaction, with exact aggregates (docs/reviews.md)."""
