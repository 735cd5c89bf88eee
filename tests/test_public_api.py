"""The public face of wsao_trio: ``__all__`` is sorted, complete, and every name resolves.

Complete means: every name the face re-exports is listed and nothing else; every
error of :mod:`wsao_trio.errors` is there; and every name that ``app/``, ``stress/``,
the README or ``docs/`` import from ``wsao_trio`` is there. Like trio, the face
re-exports with ``from x import Y as Y``, so a name is public only on purpose.
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import wsao_trio
from wsao_trio import errors

ROOT = Path(__file__).resolve().parents[1]
FACE = ROOT / "wsao_trio" / "__init__.py"


def _reexports() -> set[str]:
    """The names the face binds with ``from x import Y as Y``."""
    names = set()
    for node in ast.parse(FACE.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                assert alias.asname == alias.name, f"{alias.name} not re-exported as itself"
                names.add(alias.name)
    return names


def _imported_from_the_face() -> set[str]:
    """Names that app/, stress/, README.md and docs/*.md import from ``wsao_trio``."""
    sources = [*ROOT.glob("app/**/*.py"), *ROOT.glob("stress/**/*.py")]
    sources += [ROOT / "README.md", *ROOT.glob("docs/*.md")]
    names = set()
    for path in sources:
        text = path.read_text(encoding="utf-8")
        for block in re.findall(r"^\s*from wsao_trio import \(([^)]*)\)", text, re.MULTILINE):
            names.update(re.findall(r"\w+", block))
        for line in re.findall(r"^\s*from wsao_trio import ([^(\n]+)$", text, re.MULTILINE):
            names.update(re.findall(r"\w+", line.split("#")[0]))
    return names - {"as"}


def test_all_is_sorted_and_has_no_duplicates() -> None:
    assert list(wsao_trio.__all__) == sorted(set(wsao_trio.__all__))


def test_all_is_exactly_what_the_face_reexports() -> None:
    assert set(wsao_trio.__all__) == _reexports()


def test_exports_are_exactly_the_public_names() -> None:
    public = {
        name
        for name, value in vars(wsao_trio).items()
        if not name.startswith("_") and not inspect.ismodule(value)
    }
    assert public == set(wsao_trio.__all__)


def test_every_error_is_exported() -> None:
    tree = {
        name
        for name, value in vars(errors).items()
        if inspect.isclass(value) and issubclass(value, errors.WsaoError)
    }
    assert tree <= set(wsao_trio.__all__), sorted(tree - set(wsao_trio.__all__))


def test_every_name_the_app_harness_and_docs_import_is_exported() -> None:
    imported = _imported_from_the_face()
    assert imported, "no `from wsao_trio import` found"
    assert imported <= set(wsao_trio.__all__), sorted(imported - set(wsao_trio.__all__))


def test_every_export_resolves_and_has_a_docstring() -> None:
    for name in wsao_trio.__all__:
        obj = getattr(wsao_trio, name)
        assert inspect.getdoc(obj), f"wsao_trio.{name} has no docstring"


def test_the_face_draws_the_layers() -> None:
    doc = inspect.getdoc(wsao_trio) or ""
    for layer in ("_service/", "_runs/", "_backplane/", "_delivery/", "_state/"):
        assert layer in doc, layer
