"""Payments: the payment provider port, the sandbox provider, pay-ins, refunds, chargebacks."""
