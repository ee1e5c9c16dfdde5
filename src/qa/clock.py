"""Time for the service: today's date (injectable, so tests can fix it) and elapsed milliseconds."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

_today: Callable[[], dt.date] = dt.date.today


def today() -> dt.date:
    """The date questions such as 去年 and 今年 are read against."""
    return _today()


def set_today(source: Callable[[], dt.date] | None) -> None:
    """Use ``source`` for today's date (``None`` restores the system clock)."""
    global _today
    _today = source or dt.date.today


def elapsed_ms(started: float) -> float:
    """Milliseconds since ``started`` (a ``time.perf_counter()`` reading), to two decimals."""
    return round((time.perf_counter() - started) * 1000, 2)
