"""projects PDF."""
