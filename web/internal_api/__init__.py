"""Accord's internal HTTP API for the Rasa action server (shared-secret header, /internal/v1)."""

from web.internal_api.routes import router

__all__ = ["router"]
