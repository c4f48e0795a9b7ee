"""The sanctions ladder: formal notice, restriction, suspension, termination, wallet freeze, refusal of re-registration (docs/sanctions.md)."""
