"""Telephony and video: the provider port and the sandbox provider (see docs/telephony.md)."""
