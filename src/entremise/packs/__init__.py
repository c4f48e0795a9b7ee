"""Reference platforms ("packs"): `consult` and `expert` so far. See docs/packs.md."""
