"""Data shipped with HallApp (hallapp.resources).

The sample catalog, demo staff and photos, holiday schedules.
"""
