"""Waiting for a real window in the screenshot scripts: run Qt's events until
something is on screen (``pump``) or for a moment (``settle``)."""

from __future__ import annotations

import time

from PySide6.QtCore import QCoreApplication


def pump(until: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not until():  # type: ignore[operator]
        QCoreApplication.processEvents()
        time.sleep(0.01)
        if time.monotonic() > deadline:
            raise TimeoutError(str(until))


def settle(seconds: float = 0.4) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QCoreApplication.processEvents()
        time.sleep(0.01)
