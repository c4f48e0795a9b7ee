"""Command-line interface: `entremise --help`."""
