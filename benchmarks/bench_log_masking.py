"""The cost of masking personal numbers in every log record: prints the figures.

Writes N records of three kinds (plain text, a record with an ID number and a
phone in its arguments, an exception with a traceback) to a real log file,
once through a plain handler (the reference, measured in the same run) and
once through the production handler with its MaskingFilter.

    .venv/bin/python benchmarks/bench_log_masking.py [N]
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
import tempfile
import time
from pathlib import Path

from hallapp.logsetup import file_handler


def _plain(path: Path) -> logging.Handler:
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=5_000_000, backupCount=5, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    return handler


def _time(handler: logging.Handler, n: int) -> dict[str, float]:
    logger = logging.getLogger(f"bench.{id(handler)}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    figures = {}
    try:
        for kind in ("plain", "personal", "traceback"):
            started = time.perf_counter()
            for i in range(n):
                if kind == "plain":
                    logger.info("op %d 刷新办件列表: done in %.3f s", i, 0.012)
                elif kind == "personal":
                    logger.info("applicant %s phone %s case %s", "350825199001011230",
                                "13905971234", f"LCA03202609280{i % 1000:03d}")  # fmt: skip
                else:
                    try:
                        raise ValueError(f"bad value {i}")
                    except ValueError:
                        logger.exception("op %d failed", i)
            figures[kind] = (time.perf_counter() - started) / n * 1e6
    finally:
        logger.removeHandler(handler)
        handler.close()
    return figures


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    plain: dict[str, float] = {}
    masked: dict[str, float] = {}
    # Alternating rounds, best of three: the machine is shared and warms up.
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(3):
            for figures, handler in (
                (plain, _plain(Path(tmp) / f"plain{r}.log")),
                (masked, file_handler(Path(tmp) / f"masked{r}" / "hallapp.log")),
            ):
                for kind, value in _time(handler, n).items():
                    figures[kind] = min(value, figures.get(kind, value))
    print(f"{n} records of each kind, best of 3, µs per record (plain handler → masking):")
    for kind, reference in plain.items():
        print(f"  {kind:10s} {reference:7.1f} → {masked[kind]:7.1f}  "
              f"(+{masked[kind] - reference:.1f})")  # fmt: skip


if __name__ == "__main__":
    main()
