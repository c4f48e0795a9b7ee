"""Privacy: data export, data-protection requests, erasure with legal holds, marketing consent and
unsubscribe links, post-mortem directives, retention purges (see docs/privacy.md)."""
