"""Data shipped with HallApp: sample catalog, demo staff, holiday schedules, themes (hallapp.resources)."""
