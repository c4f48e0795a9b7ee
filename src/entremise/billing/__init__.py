"""Billing: invoices and credit notes (gap-free numbers, legal mentions, PDF/A-3, Factur-X), billable items and the monthly invoice run."""
