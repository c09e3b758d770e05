"""Key projects."""
