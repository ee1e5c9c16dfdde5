"""The resident-facing chat UI of `qa`, mounted at ``/`` by :func:`qa.api.app.create_app`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["mount_ui"]

if TYPE_CHECKING:
    from qa.ui.chat import mount_ui


def __getattr__(name: str) -> Any:
    if name == "mount_ui":  # gradio is heavy: import it only when the UI is mounted
        from qa.ui.chat import mount_ui

        return mount_ui
    raise AttributeError(f"module 'qa.ui' has no attribute {name!r}")
