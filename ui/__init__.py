"""The PySide6 window client: clerk console, citizen screen, supervisor view (hallapp.ui)."""
