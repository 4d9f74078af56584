"""The HTTP service: REST API under /api/v1 (and, next, the web UI)."""
