"""HallApp: the window client of a government service hall (政务服务大厅).

This package is the domain: models, store, catalog, working days, intake,
evaluation. It imports no Qt. The Qt client lives in :mod:`hallapp.ui`, the
documents in :mod:`hallapp.printing`, the evaluator drivers in
:mod:`hallapp.devices`.
"""

__version__ = "0.1.0"

import os as _os

# The subpackages ui/, devices/, printing/ and resources/ live in top-level
# folders of the repository and are installed as hallapp.ui etc. When Python
# imports this package straight from a checkout (the checkout on sys.path, as
# with `python -m hallapp` run from it), look for them beside this folder too.
_here = _os.path.dirname(__file__)
_parent = _os.path.dirname(_here)
if not _os.path.isdir(_os.path.join(_here, "ui")) and _os.path.isfile(
    _os.path.join(_parent, "pyproject.toml")
):
    __path__.append(_parent)
