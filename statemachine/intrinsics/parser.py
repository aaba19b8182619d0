"""Parse ASL intrinsic function calls (``States.Format('{}', $.x)``) into a small frozen AST.

The grammar is tiny, so a hand-written scanner does it in one pass: a call is ``States.<Name>(``
followed by comma-separated arguments and ``)``. An argument is a nested call, a single-quoted
string (escapes ``\\'``, ``\\{``, ``\\}``, ``\\\\`` only, as AWS accepts), a JSON number, ``true``,
``false``, ``null``, or a path (``$``, ``$.a[0]``, ``$$.Execution.Id``, ``$var.x``) kept as text
for the interpreter to resolve. Parsed calls are cached by their text, so a definition's
intrinsics are parsed once however often they run.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, NoReturn

from statemachine.json_types import JSON

FUNCTION_NAMES: Final = frozenset(
    {
        "States.Format",
        "States.StringToJson",
        "States.JsonToString",
        "States.Array",
        "States.ArrayPartition",
        "States.ArrayContains",
        "States.ArrayRange",
        "States.ArrayGetItem",
        "States.ArrayLength",
        "States.ArrayUnique",
        "States.Base64Encode",
        "States.Base64Decode",
        "States.Hash",
        "States.JsonMerge",
        "States.MathRandom",
        "States.MathAdd",
        "States.StringSplit",
        "States.UUID",
    }
)

MAX_NESTING: Final = 10
"""AWS allows up to 10 intrinsic functions nested inside one field."""

_NAME = re.compile(r"States\.[A-Za-z0-9]+")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_KEYWORD = re.compile(r"(true|false|null)(?![A-Za-z0-9_$.])")
_ESCAPABLE: Final = frozenset("'{}\\")
_INTRINSIC_SHAPE = re.compile(r"\s*States\.[A-Za-z0-9]+\(.*\)\s*", re.DOTALL)


class IntrinsicSyntaxError(ValueError):
    """An intrinsic call that does not parse; the message names the problem and its position."""

    def __init__(self, text: str, position: int, problem: str) -> None:
        self.text = text
        self.position = position
        self.problem = problem
        super().__init__(f"{problem} at position {position} in intrinsic function {text!r}")


@dataclass(frozen=True, slots=True)
class StringLiteral:
    """A quoted string argument. ``raw`` keeps the text between the quotes as written, so that
    States.Format can tell an escaped ``\\{`` from a ``{}`` placeholder."""

    value: str
    raw: str


@dataclass(frozen=True, slots=True)
class Literal:
    """A number, boolean or null argument."""

    value: JSON


@dataclass(frozen=True, slots=True)
class PathArgument:
    """A path argument, kept as written; the interpreter resolves it (``$.a``, ``$$.x``, ``$var``)."""

    text: str


@dataclass(frozen=True, slots=True)
class IntrinsicCall:
    """One call: its full name (``States.Format``) and its arguments, in order."""

    name: str
    args: tuple[Argument, ...]


Argument = StringLiteral | Literal | PathArgument | IntrinsicCall


def path_arguments(call: IntrinsicCall) -> Iterator[str]:
    """Every path argument in the call tree, left to right (for validators to check them)."""
    for arg in call.args:
        if isinstance(arg, PathArgument):
            yield arg.text
        elif isinstance(arg, IntrinsicCall):
            yield from path_arguments(arg)


def is_intrinsic(text: str) -> bool:
    """Whether ``text`` has the shape of an intrinsic call (``States.Xxx(...)``).

    A cheap test for dispatching ``.$`` values; ``parse_intrinsic`` does the real check.
    """
    return text.lstrip().startswith("States.") and _INTRINSIC_SHAPE.fullmatch(text) is not None


@lru_cache(maxsize=4096)
def parse_intrinsic(text: str) -> IntrinsicCall:
    """Parse one intrinsic call; raise IntrinsicSyntaxError naming the problem and position."""
    parser = _Parser(text)
    parser.skip_space()
    call = parser.call(depth=1)
    parser.skip_space()
    if parser.pos != len(text):
        parser.fail("unexpected text after the closing parenthesis")
    return call


class _Parser:
    """A cursor over the text; each method consumes one construct or raises."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, problem: str, position: int | None = None) -> NoReturn:
        raise IntrinsicSyntaxError(self.text, self.pos if position is None else position, problem)

    def skip_space(self) -> None:
        text, pos = self.text, self.pos
        while pos < len(text) and text[pos].isspace():
            pos += 1
        self.pos = pos

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def call(self, depth: int) -> IntrinsicCall:
        if depth > MAX_NESTING:
            self.fail(f"more than {MAX_NESTING} nested intrinsic functions")
        start = self.pos
        match = _NAME.match(self.text, self.pos)
        if match is None:
            self.fail("expected an intrinsic function name such as States.Format")
        name = match.group()
        if name not in FUNCTION_NAMES:
            self.fail(f"unknown intrinsic function {name!r}", start)
        self.pos = match.end()
        if self.peek() != "(":
            self.fail(f"expected '(' after {name}")
        self.pos += 1
        args: list[Argument] = []
        self.skip_space()
        if self.peek() == ")":
            self.pos += 1
            return IntrinsicCall(name, ())
        while True:
            self.skip_space()
            args.append(self.argument(depth))
            self.skip_space()
            char = self.peek()
            if char == ",":
                self.pos += 1
            elif char == ")":
                self.pos += 1
                return IntrinsicCall(name, tuple(args))
            elif char == "":
                self.fail(f"missing ')' to close {name}")
            else:
                self.fail(f"expected ',' or ')' but found {char!r}")

    def argument(self, depth: int) -> Argument:
        char = self.peek()
        if char == "'":
            return self.string()
        if char == "$":
            return self.path()
        if char == "S" and self.text.startswith("States.", self.pos):
            return self.call(depth + 1)
        if char == "-" or char.isdigit():
            return self.number()
        keyword = _KEYWORD.match(self.text, self.pos)
        if keyword is not None:
            self.pos = keyword.end()
            return Literal({"true": True, "false": False, "null": None}[keyword.group(1)])
        if char in ("", ",", ")"):
            self.fail("missing argument")
        self.fail(f"unexpected character {char!r}")

    def string(self) -> StringLiteral:
        start = self.pos
        text = self.text
        pos = start + 1
        chars: list[str] = []
        while pos < len(text):
            char = text[pos]
            if char == "'":
                self.pos = pos + 1
                return StringLiteral("".join(chars), text[start + 1 : pos])
            if char == "\\":
                escaped = text[pos + 1 : pos + 2]
                if escaped not in _ESCAPABLE:
                    self.fail(f"invalid escape sequence '\\{escaped}' in a string literal", pos)
                chars.append(escaped)
                pos += 2
                continue
            chars.append(char)
            pos += 1
        self.fail("unterminated string literal", start)

    def number(self) -> Literal:
        match = _NUMBER.match(self.text, self.pos)
        if match is None:
            self.fail("malformed number")
        self.pos = match.end()
        literal = match.group()
        if match.group(1) or match.group(2):
            return Literal(float(literal))
        return Literal(int(literal))

    def path(self) -> PathArgument:
        """A path runs to the next ',' or ')' outside brackets, parentheses and quotes."""
        start = self.pos
        text = self.text
        pos = start
        depth = 0
        quote = ""
        while pos < len(text):
            char = text[pos]
            if quote:
                if char == "\\":
                    pos += 1
                elif char == quote:
                    quote = ""
            elif char in "'\"":
                quote = char
            elif char in "[(":
                depth += 1
            elif char in "])":
                if depth == 0:
                    break
                depth -= 1
            elif char == "," and depth == 0:
                break
            pos += 1
        if quote:
            self.fail("unterminated quote in a path", start)
        path_text = text[start:pos].rstrip()
        self.pos = start + len(path_text)
        return PathArgument(path_text)
