"""JSONPath as ASL uses it: ``$`` (state input), ``$$`` (context object) and ``$name`` (a variable).

The only importer of jsonpath_ng. Plain member/index chains (nearly every path in practice) are
compiled to a tuple of steps and walked directly, which is an order of magnitude faster than
jsonpath_ng; only wildcards, slices, filters and recursive descent go through jsonpath_ng.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from statemachine.json_types import JSON

Root = Literal["input", "context", "variable"]


class PathSyntaxError(ValueError):
    """A path that is not valid JSONPath (or not a reference path where one is required)."""


class PathNotFound(LookupError):
    """A path that selects nothing in the given document."""


_NAME = r"[^.\[\]'\"\s()?*,:@$]+"
_STEP = re.compile(
    r"\.(?P<name>" + _NAME + r")"
    r"|\[\s*(?P<index>-?\d+)\s*\]"
    r"|\[\s*'(?P<squoted>(?:[^'\\]|\\.)*)'\s*\]"
    r'|\[\s*"(?P<dquoted>(?:[^"\\]|\\.)*)"\s*\]'
)
_ROOT = re.compile(r"\$\$|\$(?P<var>[A-Za-z_][A-Za-z0-9_]*)|\$")

Step = str | int


@dataclass(frozen=True, slots=True)
class Path:
    """A compiled path. ``steps`` is set for plain member/index chains, ``expr`` otherwise."""

    text: str
    root: Root
    variable: str | None
    steps: tuple[Step, ...] | None
    expr: Any
    """The jsonpath_ng expression for paths with wildcards, slices, filters or ``..``."""
    is_root: bool = field(init=False, compare=False)
    """``$`` alone: selecting returns the document itself (set once: read for nearly every state)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "is_root", self.steps == () and self.root == "input")

    @property
    def definite(self) -> bool:
        """True when the path selects at most one value (so no list is built around it)."""
        return self.steps is not None

    def find(self, document: JSON) -> JSON:
        """The value the path selects in ``document`` (the root the path names).

        Raises:
            PathNotFound: a definite path that selects nothing.
        """
        steps = self.steps
        if steps is None:
            return [match.value for match in self.expr.find(document)]
        value = document
        for step in steps:
            if isinstance(step, str):
                if type(value) is not dict or step not in value:
                    raise PathNotFound(self.text)
                value = value[step]
            else:
                if type(value) is not list or not -len(value) <= step < len(value):
                    raise PathNotFound(self.text)
                value = value[step]
        return value

    def exists(self, document: JSON) -> bool:
        """Whether the path selects something (IsPresent)."""
        if self.steps is None:
            return bool(self.expr.find(document))
        try:
            self.find(document)
        except PathNotFound:
            return False
        return True

    def canonical(self) -> str:
        """The path as AWS prints it in errors: ``$['a']['b'][0]``."""
        if self.steps is None:
            return self.text
        prefix = {"input": "$", "context": "$$", "variable": f"${self.variable}"}[self.root]
        return prefix + "".join(f"['{s}']" if isinstance(s, str) else f"[{s}]" for s in self.steps)


def parse_path(text: str) -> Path:
    """Compile a JSONPath (``$...``, ``$$...`` or ``$var...``); compiled paths are cached.

    Raises:
        PathSyntaxError: the text is not a path.
    """
    return _parse(text)


def parse_reference_path(text: str) -> Path:
    """Compile a reference path (members and indexes only), as ResultPath and ItemsPath need.

    Raises:
        PathSyntaxError: not a path, or one with wildcards, slices, filters or recursive descent.
    """
    path = _parse(text)
    if path.steps is None:
        raise PathSyntaxError(f"'{text}' is not a reference path (no wildcards, filters or slices)")
    return path


@lru_cache(maxsize=4096)
def _parse(text: str) -> Path:
    if not isinstance(text, str):
        raise PathSyntaxError(f"a path must be a string, not {type(text).__name__}")
    stripped = text.strip()
    root_match = _ROOT.match(stripped)
    if root_match is None:
        raise PathSyntaxError(f"'{text}' is not a JSONPath: it must start with '$'")
    token = root_match.group(0)
    root: Root
    variable: str | None = None
    if token == "$$":
        root = "context"
    elif root_match.group("var") is not None:
        root, variable = "variable", root_match.group("var")
    else:
        root = "input"
    rest = stripped[root_match.end() :]
    steps = _simple_steps(rest)
    if steps is not None:
        return Path(text, root, variable, steps, None)
    return Path(text, root, variable, None, _compile_complex(text, rest))


def _simple_steps(rest: str) -> tuple[Step, ...] | None:
    steps: list[Step] = []
    pos = 0
    while pos < len(rest):
        match = _STEP.match(rest, pos)
        if match is None:
            return None
        if match.group("name") is not None:
            steps.append(match.group("name"))
        elif match.group("index") is not None:
            steps.append(int(match.group("index")))
        else:
            quoted = match.group("squoted")
            if quoted is not None:
                steps.append(quoted.replace("\\'", "'"))
            else:
                steps.append(re.sub(r'\\(["\\])', r"\1", match.group("dquoted")))
        pos = match.end()
    return tuple(steps)


def _compile_complex(text: str, rest: str) -> Any:
    # Imported here, on the first complex path: importing jsonpath_ng costs ~15 ms (its first parse
    # builds PLY tables: ~90 ms), paid by every process that imports the language otherwise.
    from jsonpath_ng.exceptions import JsonPathLexerError, JsonPathParserError
    from jsonpath_ng.ext import parse

    try:
        return parse("$" + rest)
    except (JsonPathLexerError, JsonPathParserError, Exception) as exc:
        raise PathSyntaxError(f"'{text}' is not a valid JSONPath: {exc}") from None


def set_path(document: JSON, path: Path, value: JSON) -> JSON:
    """A copy of ``document`` with ``value`` placed at reference ``path`` (ResultPath semantics).

    Only the containers along the path are copied; missing objects on the way are created.

    Raises:
        PathNotFound: a step meets something that is neither an object nor a list it can index.
    """
    steps = path.steps
    if steps is None:
        raise PathNotFound(path.text)
    if len(steps) == 1 and type(document) is dict and isinstance(steps[0], str):
        copy = dict(document)  # ``$.member``, the usual ResultPath
        copy[steps[0]] = value
        return copy
    return _set(document, steps, 0, value, path.text)


def _set(node: JSON, steps: tuple[Step, ...], at: int, value: JSON, text: str) -> JSON:
    if at == len(steps):
        return value
    step = steps[at]
    if isinstance(step, str):
        if node is None and at > 0:
            node = {}
        if type(node) is not dict:
            raise PathNotFound(text)
        copy = dict(node)
        copy[step] = _set(node.get(step), steps, at + 1, value, text)
        return copy
    if type(node) is not list or not -len(node) <= step < len(node):
        raise PathNotFound(text)
    items = list(node)
    items[step] = _set(node[step], steps, at + 1, value, text)
    return items
