"""Exponential backoff, shared by everything that retries (timers, outbox delivery)."""

from __future__ import annotations

from datetime import timedelta


def exponential_backoff(failed_attempts: int, base: timedelta, cap: timedelta) -> timedelta:
    """Wait before the next try after `failed_attempts` failures: base × 2^(failures − 1), at most `cap`."""
    if failed_attempts < 1:
        raise ValueError("failed_attempts starts at 1")
    delay = base
    for _ in range(failed_attempts - 1):
        if delay >= cap:
            break
        delay = delay * 2
    return min(delay, cap)
