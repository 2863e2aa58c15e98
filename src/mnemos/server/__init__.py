"""The REST API and the web dashboard, served by ``mnemos serve``.

Both are thin adapters over one :class:`~mnemos.Memory`: each request is bound to its API
key's tenant and user scopes with :meth:`~mnemos.Memory.scoped`, and the engine's store
queries enforce that binding. Needs the ``server`` extra::

    pip install 'mnemos[server]'

>>> from mnemos import Memory                                         # doctest: +SKIP
>>> from mnemos.server import create_app                              # doctest: +SKIP
>>> app = create_app(Memory("agent.db"))                              # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mnemos.errors import MissingDependencyError

if TYPE_CHECKING:
    from fastapi import FastAPI

    from mnemos.memory import Memory

__all__ = ["create_app", "require_server_extra"]

_MODULES = ("fastapi", "starlette", "uvicorn", "jinja2")


def require_server_extra(what: str = "the REST server") -> None:
    """Raise unless the ``server`` extra is installed.

    Raises:
        MissingDependencyError: one of its modules cannot be imported.
    """
    import importlib

    for module in _MODULES:
        try:
            importlib.import_module(module)
        except ImportError:
            raise MissingDependencyError(what, "server", module) from None


def create_app(memory: Memory, **options: Any) -> FastAPI:
    """The ASGI application: the ``/v1`` REST API and the ``/ui`` dashboard.

    See :func:`mnemos.server.app.create_app` for the options.

    Raises:
        MissingDependencyError: the ``server`` extra is not installed.
    """
    require_server_extra()
    from mnemos.server.app import create_app as build

    return build(memory, **options)
