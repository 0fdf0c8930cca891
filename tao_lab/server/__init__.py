"""The Jupyter server extension behind the TAO Lab sidebar, and the registry kernels publish to.

`_load_jupyter_server_extension` adds the REST API under ``/tao-lab/api/`` (`handlers`); the
registry (`registry`, `publish`) is plain files in the Jupyter runtime directory and imports no
Jupyter server code, so kernels use it freely. Importing this package starts nothing and loads
neither tornado nor jupyter_server. See docs/server.md.
"""

from __future__ import annotations

__all__ = ["_jupyter_server_extension_points", "_load_jupyter_server_extension"]


def _jupyter_server_extension_points() -> list[dict]:
    return [{"module": "tao_lab.server"}]


def _load_jupyter_server_extension(serverapp) -> None:
    """Register the handlers on ``serverapp.web_app`` (called by jupyter_server at start-up)."""
    from .handlers import setup_handlers

    setup_handlers(serverapp)
