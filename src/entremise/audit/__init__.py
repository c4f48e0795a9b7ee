"""Audit trail (COMMON-EVIDENCE-1): an append-only record of every state change."""
