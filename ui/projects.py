"""projects view."""
