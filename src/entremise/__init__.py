"""entremise: an engine for intermediation platforms whose terms of service are executable."""

__version__ = "0.1.0"
