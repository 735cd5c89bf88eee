"""The project's code rules, enforced over wsao_trio/, app/ and stress/.

- every function (def or async def) is under 25 lines of code: decorators and body
  count, the docstring does not (a docstring says what the function guarantees, and
  what happens on cancellation and failure; it is not cut short to fit a cap);
- every public module, class, function and method has a docstring;
- imports are absolute;
- ``os.environ`` / ``os.getenv`` appear only in ``wsao_trio/config.py``;
- no module-level mutable singletons (a module-level name bound to a list, dict or
  set display, or to a call of a mutable constructor).

What may import what (the layers, the sans-IO modules, the engines, the extras, the
web stack, the face) is not here: those are import-linter contracts in
``pyproject.toml``, which ``tests/test_layers.py`` runs.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("wsao_trio", "app", "stress")
MAX_FUNCTION_LINES = 24
MUTABLE_CALLS = frozenset({"list", "dict", "set", "defaultdict", "deque", "OrderedDict", "Counter"})


def _sources() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def _parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


SOURCES = _sources()


def _functions(tree: ast.AST) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def test_sources_found() -> None:
    assert any(p.name == "orchestrator.py" for p in SOURCES)


def _code_lines(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines from the first decorator to the end, less the docstring's lines."""
    start = min([fn.lineno] + [d.lineno for d in fn.decorator_list])
    length = (fn.end_lineno or fn.lineno) - start + 1
    first = fn.body[0]
    if ast.get_docstring(fn) is not None and isinstance(first, ast.Expr):
        length -= (first.end_lineno or first.lineno) - first.lineno + 1
    return length


def test_code_lines_leave_the_docstring_out() -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(24))
    doc = '    """One line.\n\n' + "    more\n" * 10 + '    """\n'
    fn = ast.parse(f"def f():\n{doc}{body}\n").body[0]
    assert isinstance(fn, ast.FunctionDef)
    assert _code_lines(fn) == 25


@pytest.mark.parametrize("path", SOURCES, ids=_rel)
def test_functions_are_short(path: Path) -> None:
    long = []
    for fn in _functions(_parse(path)):
        length = _code_lines(fn)
        if length > MAX_FUNCTION_LINES:
            long.append(f"{fn.name} ({length} lines)")
    assert not long, f"{_rel(path)}: functions of 25 lines or more: {long}"


def _public_defs(tree: ast.Module) -> Iterator[ast.AST]:
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            yield node
            yield from (item for item in node.body if _is_public_function(item))
        elif _is_public_function(node):
            yield node


def _is_public_function(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and not node.name.startswith("_")
        and not _is_overload(node)
    )


def _is_overload(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(ast.unparse(d).endswith("overload") for d in fn.decorator_list)


@pytest.mark.parametrize("path", SOURCES, ids=_rel)
def test_public_names_have_docstrings(path: Path) -> None:
    tree = _parse(path)
    missing = [] if ast.get_docstring(tree) else ["<module>"]
    for node in _public_defs(tree):
        assert isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        if not ast.get_docstring(node):
            missing.append(node.name)
    assert not missing, f"{_rel(path)}: public names without a docstring: {missing}"


@pytest.mark.parametrize("path", SOURCES, ids=_rel)
def test_imports_are_absolute(path: Path) -> None:
    relative = [
        node.lineno
        for node in ast.walk(_parse(path))
        if isinstance(node, ast.ImportFrom) and node.level > 0
    ]
    assert not relative, f"{_rel(path)}: relative imports at lines {relative}"


@pytest.mark.parametrize("path", SOURCES, ids=_rel)
def test_environment_read_only_in_config(path: Path) -> None:
    if _rel(path) == "wsao_trio/config.py":
        return
    text = path.read_text(encoding="utf-8")
    for needle in ("os.environ", "os.getenv", "getenv(", "environ["):
        assert needle not in text, f"{_rel(path)} reads the environment ({needle})"


def _is_mutable(value: ast.expr) -> bool:
    if isinstance(value, ast.List | ast.Dict | ast.Set | ast.ListComp | ast.DictComp):
        return True
    if isinstance(value, ast.Call):
        name = ast.unparse(value.func).rsplit(".", 1)[-1]
        return name in MUTABLE_CALLS
    return False


@pytest.mark.parametrize("path", SOURCES, ids=_rel)
def test_no_module_level_mutable_singletons(path: Path) -> None:
    bad = []
    for node in _parse(path).body:
        value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
        if value is not None and _is_mutable(value) and not _is_all(node):
            bad.append(node.lineno)
    assert not bad, f"{_rel(path)}: module-level mutable values at lines {bad}"


def _is_all(node: ast.stmt) -> bool:
    targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
    return any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets)
