"""``python -m hallapp.ui``: the window client (same as ``hallapp-window``)."""

from hallapp.ui.app import main

raise SystemExit(main())
