"""Accounts: people, organisations, roles, credentials, sessions, devices, closure."""
