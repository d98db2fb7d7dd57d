"""Lint and types are part of the tests: ruff on the tree, mypy --strict on the package, and a
docstring on every public function and method."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600
    )


def test_ruff_is_clean() -> None:
    result = run("ruff", "check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_is_clean() -> None:
    result = run("mypy", "--no-incremental")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_clean() -> None:
    result = run("ruff", "format", "--check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout + result.stderr


Function = ast.FunctionDef | ast.AsyncFunctionDef


def _decorator_names(function: Function) -> set[str]:
    names = set()
    for decorator in function.decorator_list:
        if isinstance(decorator, ast.Call):
            decorator = decorator.func
        if isinstance(decorator, ast.Attribute):
            names.add(decorator.attr)
        elif isinstance(decorator, ast.Name):
            names.add(decorator.id)
    return names


def _public_functions(body: list[ast.stmt], prefix: str = "") -> Iterator[tuple[str, Function]]:
    """Public functions of a module body, and public methods of its public classes (recursively).

    Skipped: private and dunder names, ``@overload`` stubs, property setters and deleters (the
    docstring lives on the getter), and anything defined inside a function.
    """
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            skip = {"overload", "setter", "deleter"} & _decorator_names(node)
            if not node.name.startswith("_") and not skip:
                yield prefix + node.name, node
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            yield from _public_functions(node.body, f"{prefix}{node.name}.")


def missing_docstrings(package: Path) -> list[str]:
    """``path:line name`` of every public function or method in ``package`` without a docstring."""
    missing = []
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for name, function in _public_functions(tree.body):
            if ast.get_docstring(function) is None:
                missing.append(f"{path.relative_to(package.parent)}:{function.lineno} {name}")
    return missing


def test_every_public_function_has_a_docstring() -> None:
    missing = missing_docstrings(ROOT / "sora_widgets")
    if missing:
        pytest.fail(f"{len(missing)} public functions without a docstring:\n" + "\n".join(missing))


def test_the_docstring_check_counts_only_public_api(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "_mod.py").write_text(
        "from typing import overload\n"
        "def bare(): pass\n"
        "def _private(): pass\n"
        "@overload\n"
        "def over(x: int) -> int: ...\n"
        "def over(x): 'Documented.'\n"
        "def outer():\n"
        "    'Documented.'\n"
        "    def inner(): pass\n"
        "    class Inner:\n"
        "        def method(self): pass\n"
        "class Public:\n"
        "    def __init__(self): pass\n"
        "    async def fetch(self): pass\n"
        "    @property\n"
        "    def size(self): 'Documented.'\n"
        "    @size.setter\n"
        "    def size(self, value): pass\n"
        "    class Nested:\n"
        "        def deep(self): pass\n"
        "class _Hidden:\n"
        "    def method(self): pass\n"
    )
    assert missing_docstrings(package) == [
        "pkg/_mod.py:2 bare",
        "pkg/_mod.py:14 Public.fetch",
        "pkg/_mod.py:20 Public.Nested.deep",
    ]
