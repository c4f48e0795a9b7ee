"""Providers' availability and appointments on a chosen slot, with cancellation and no-show rules."""
