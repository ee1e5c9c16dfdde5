"""What is wrong but not fatal: the service keeps answering and ``/readyz`` says what it is (degraded)."""

from __future__ import annotations

import threading


class Issues:
    """Current problems by code, each with a message for operators; thread-safe."""

    def __init__(self) -> None:
        self._items: dict[str, str] = {}
        self._lock = threading.Lock()

    def set(self, code: str, message: str) -> None:
        """Report a problem (replacing an earlier one with the same code)."""
        with self._lock:
            self._items[code] = message

    def clear(self, *codes: str) -> None:
        """The problems with these codes are over."""
        with self._lock:
            for code in codes:
                self._items.pop(code, None)

    def items(self) -> list[dict[str, str]]:
        """Every current problem as ``{"code", "message"}``, by code."""
        with self._lock:
            return [{"code": code, "message": self._items[code]} for code in sorted(self._items)]

    def __contains__(self, code: object) -> bool:
        with self._lock:
            return code in self._items
