"""The ledger's crash test: random money operations from several processes, killed with SIGKILL at
random moments and restarted, then proved against a reference model (see docs/ledger-crash-test.md).

- `model`: the reference model of the ledger's rules (pure);
- `operations`: the pluggable operation kinds, and the ledger's own (transfers, holds, captures,
  releases, voids, reversals);
- `harness`: the workers, the supervisor that kills and restarts them, and the checker.
"""
