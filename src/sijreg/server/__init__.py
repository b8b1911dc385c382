"""The multi-site registry server: JSON API and server-rendered pages (FastAPI)."""
