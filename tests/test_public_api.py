"""The public face of wsao_trio: every exported name resolves and is documented."""

from __future__ import annotations

import inspect

import wsao_trio


def test_every_export_resolves_and_has_a_docstring() -> None:
    for name in wsao_trio.__all__:
        obj = getattr(wsao_trio, name)
        assert inspect.getdoc(obj), f"wsao_trio.{name} has no docstring"


def test_exports_are_exactly_the_public_names() -> None:
    public = {
        name
        for name, value in vars(wsao_trio).items()
        if not name.startswith("_") and not inspect.ismodule(value)
    }
    assert public == set(wsao_trio.__all__)
