"""Booking: the process engine (state machines as data, timers), availability, cancellation."""
