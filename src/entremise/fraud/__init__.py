"""Fraud signals and the cases staff decide (docs/fraud.md)."""
