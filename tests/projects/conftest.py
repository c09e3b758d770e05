"""Fixtures of the key project tests (see hallfixtures)."""

from tests.projects.hallfixtures import central, central_url, hall

__all__ = ["central", "central_url", "hall"]
