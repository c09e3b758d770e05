"""Alembic migrations of the central store (hallapp.sync.centre.init_central).

A script location of its own, with its own version table, so that the local
store's revisions and the centre's never mix. The mirrored tables (each local
table plus hall_code) are created and extended from the models by
:func:`hallapp.sync.centre.reconcile` after these run; the scripts here hold
what is the centre's alone.
"""

HEAD = "c0001"
VERSION_TABLE = "central_alembic_version"
