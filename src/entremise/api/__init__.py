"""HTTP API (FastAPI): thin entry points under /api/v1."""
