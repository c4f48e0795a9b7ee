"""Wallets: paid and bonus credit, credit packs, promo codes, and the funding API (issue 3)."""
