"""The language's public face: outside ``statemachine/`` (and its own tests), code imports only
``statemachine`` itself, never one of its submodules, so the language can be reorganised freely."""

from __future__ import annotations

import ast
from pathlib import Path

import statemachine

ROOT = Path(__file__).resolve().parents[2]
EXEMPT = ("statemachine", "tests", ".venv", "build", "node_modules")
"""The language itself, and its tests (which may test private modules)."""


def _python_files() -> list[Path]:
    files = []
    for path in ROOT.rglob("*.py"):
        top = path.relative_to(ROOT).parts[0]
        if not top.startswith(".") and top not in EXEMPT:
            files.append(path)
    return files


def private_imports(source: str) -> list[str]:
    """Every import of a ``statemachine.<submodule>`` in ``source`` (at any depth, in functions too)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name.startswith("statemachine.")]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module is not None:
            if node.module.startswith("statemachine."):
                found.append(node.module)
            elif node.module == "statemachine":
                # ``from statemachine import interpreter`` reaches a submodule as well.
                found += [
                    f"statemachine.{alias.name}"
                    for alias in node.names
                    if alias.name not in statemachine.__all__
                ]
    return found


def test_the_check_sees_private_imports() -> None:
    source = (
        "import statemachine.ir\n"
        "from statemachine.host import JSON\n"
        "from statemachine import interpreter, execute\n"
        "def f() -> None:\n"
        "    from statemachine.loader import load_program\n"
    )
    assert private_imports(source) == [
        "statemachine.ir",
        "statemachine.host",
        "statemachine.interpreter",
        "statemachine.loader",
    ]
    assert private_imports("import statemachine\nfrom statemachine import JSON, execute\n") == []


def test_only_the_public_face_is_imported_outside_the_language() -> None:
    files = _python_files()
    assert any(path.parts[-2:] == ("workers", "workflow.py") for path in files)
    offenders = {
        str(path.relative_to(ROOT)): imports
        for path in files
        if (imports := private_imports(path.read_text()))
    }
    assert offenders == {}, "import these from `statemachine` (add them to its __all__ if needed)"


def test_the_public_face_exports_what_it_lists() -> None:
    missing = [name for name in statemachine.__all__ if not hasattr(statemachine, name)]
    assert missing == []
    assert len(set(statemachine.__all__)) == len(statemachine.__all__)
