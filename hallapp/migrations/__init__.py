"""Alembic migrations, run from code at start-up (hallapp.store.migrate).

``HEAD`` names the newest revision, so that a window whose database is
already current can start without importing Alembic at all; a test checks it
against the scripts. Update it with every new migration.
"""

HEAD = "0012"
