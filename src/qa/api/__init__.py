"""The HTTP API (FastAPI) for portals and other systems: a stable ``/v1`` contract."""
