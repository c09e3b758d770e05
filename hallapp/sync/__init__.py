"""Sync between a window's local store and the central store (no Qt).

- :mod:`hallapp.sync.roles`: who may do what at a PostgreSQL central store.
"""
