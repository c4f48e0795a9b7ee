"""Ledger: double-entry accounts and transfers, holds, derived balances, invariants (see docs/ledger.md)."""
