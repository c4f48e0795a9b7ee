"""Counters: gap-free, concurrency-safe sequences per platform (invoice numbers, LAW-INVOICE-1)."""
