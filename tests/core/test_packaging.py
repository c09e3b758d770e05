"""What a hall installs: one package, hallapp, with its data and migrations.

Generic names (ui, devices, printing, resources) must never land at the top
of site-packages; they ship as hallapp.ui etc.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(out)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return zipfile.ZipFile(next(out.glob("hallapp-*.whl")))


def test_only_hallapp_is_installed(wheel: zipfile.ZipFile):
    tops = {name.split("/")[0] for name in wheel.namelist()}
    assert tops == {"hallapp", "hallapp-0.1.0.dist-info"}


def test_the_wheel_carries_every_layer_its_data_and_migrations(wheel: zipfile.ZipFile):
    names = set(wheel.namelist())
    for required in (
        "hallapp/py.typed",
        "hallapp/ui/app.py",
        "hallapp/devices/framed.py",
        "hallapp/printing/render.py",
        "hallapp/resources/catalog.toml",
        "hallapp/resources/demo.toml",
        "hallapp/resources/holidays/2026.txt",
        "hallapp/resources/photos/1001.png",
        "hallapp/migrations/env.py",
        "hallapp/migrations/script.py.mako",
        "hallapp/migrations/versions/0001_initial_schema.py",
        "hallapp/reports/__init__.py",
        "hallapp/printing/report_pdf.py",
    ):
        assert required in names, required
    entry_points = wheel.read("hallapp-0.1.0.dist-info/entry_points.txt").decode()
    assert "hallapp = hallapp.cli:main" in entry_points
    gui = entry_points.split("[gui_scripts]\n", 1)[1]
    assert "hallapp-window = hallapp.ui.app:main" in gui
    assert "hallapp-supervisor = hallapp.ui.supervisor_app:main" in gui
