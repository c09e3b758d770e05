"""The layer rule of DESIGN.md is checked by import-linter; this keeps its list whole."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The entry (may import every layer) and the non-domain subpackages.
NOT_DOMAIN = {"cli", "__main__", "__init__", "ui", "devices", "printing", "resources"}


def domain_modules() -> set[str]:
    found = set()
    for path in (ROOT / "hallapp").iterdir():
        name = path.stem if path.suffix == ".py" else path.name
        if (path.suffix == ".py" or (path / "__init__.py").exists()) and name not in NOT_DOMAIN:
            found.add(f"hallapp.{name}")
    return found


def test_every_domain_module_is_under_the_no_qt_contract():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    domain = next(c for c in contracts if c["name"].startswith("The domain imports no Qt"))
    missing = domain_modules() - set(domain["source_modules"])
    assert not missing, f"add these to the import-linter domain contract: {sorted(missing)}"


def test_import_linter_contracts_hold():
    exe = Path(sys.executable).with_name("lint-imports")
    # Run inside the editable install's link tree, where hallapp.ui etc. are
    # real folders (in the checkout they are top-level folders).
    tree = next((ROOT / "build").glob("__editable__.hallapp-*"))
    result = subprocess.run(
        [str(exe), "--config", str(ROOT / "pyproject.toml")],
        capture_output=True,
        text=True,
        cwd=tree,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_only_ui_imports_qt_widgets():
    import ast

    offenders = []
    for folder in ("hallapp", "printing", "devices", "resources"):
        for path in (ROOT / folder).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
                if any(n.startswith("PySide6.QtWidgets") for n in names):
                    offenders.append(str(path.relative_to(ROOT)))
    assert not offenders, f"QtWidgets imported outside ui/: {offenders}"
