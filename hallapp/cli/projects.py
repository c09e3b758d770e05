"""hallapp projects CLI."""
