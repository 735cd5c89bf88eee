"""Optional dependencies: import one, or say which ``wsao_trio`` extra provides it.

The core needs only trio, trio-websocket and attrs. The few modules built on an
optional package (:mod:`wsao_trio.auth` on PyJWT, :mod:`wsao_trio.metrics` on
prometheus-client) call :func:`require` first, so that a service installed without the
extra gets one clear ImportError naming the ``pip install`` that fixes it, instead of
``No module named 'jwt'`` from deep inside the library.
"""

from __future__ import annotations

import importlib
from types import ModuleType


def require(module: str, *, extra: str, needed_by: str) -> ModuleType:
    """Import ``module``; if it is missing, raise an ImportError naming ``extra``."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module.split(".")[0]:
            raise  # the package is there but broken: show the real error
        raise ModuleNotFoundError(
            f"{needed_by} needs the optional package {module!r}: pip install 'wsao_trio[{extra}]'",
            name=module,
        ) from exc
