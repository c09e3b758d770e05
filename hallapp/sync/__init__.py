"""Sync between a window's local store and the central store (no Qt).

- :mod:`hallapp.sync.schema`: which tables are facts, reference data or local
  only, and the central store's tables, derived from the models (every
  central table is the local one plus ``hall_code``).
- :mod:`hallapp.sync.centre`: creating and upgrading a central store, and
  writing there (reference data, facts for a window, the audit).
- :mod:`hallapp.sync.push`: window → centre, every fact once.
- :mod:`hallapp.sync.verify`: ``central verify`` recomputes every chain.
- :mod:`hallapp.sync.authoring`: reference data changed at the centre by a
  supervisor or administrator (audited, versioned).
- :mod:`hallapp.sync.run`: one pass (push then pull), where a window is
  attached, the hall-wide settings pulled from the centre.
- :mod:`hallapp.sync.pull`: centre → window, reference data by version and
  the facts written at the centre for this window.
- :mod:`hallapp.sync.chain`: the evaluations' hash chain.
- :mod:`hallapp.sync.roles`: who may do what at a PostgreSQL central store
  (database roles and row-level security).
"""

from __future__ import annotations


class SyncError(Exception):
    """Sync cannot go on; the message says why in Chinese, safe to show."""


class CentreUnreachable(SyncError):
    """The central store cannot be reached now; the window keeps working."""


class SchemaMismatch(SyncError):
    """The window's and the centre's schema versions differ; nothing was written."""


class BadRecord(SyncError):
    """The centre refused a record; the message names it. That window's push stops."""

    def __init__(self, message: str, *, table: str, record_id: str) -> None:
        super().__init__(message)
        self.table = table
        self.record_id = record_id
