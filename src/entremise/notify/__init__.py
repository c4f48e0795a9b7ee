"""Notifications: the outbox, templates (French first), e-mail and SMS adapters."""
