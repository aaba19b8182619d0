"""The Lambda Extensions API (2020-01-01), served on the Runtime API's socket to one sandbox.

External extensions are the executables in the ``extensions/`` folder of a function's layers
(``extension_names``); the sandbox's launcher (``bootstrap/extensions_launcher.py``) starts them
before the runtime and relays ``AWS_LAMBDA_RUNTIME_API`` (127.0.0.1:9001) to the worker's socket.
Each registers (``POST /extension/register``, named as its file, for INVOKE and/or SHUTDOWN) during
INIT, then long-polls ``GET /extension/event/next``. INIT ends when the runtime and every extension
wait for their next event; an invocation ends when the runtime has responded and every extension
registered for INVOKE waits again. ``POST /extension/init/error`` and ``/exit/error`` end the
environment with ``Extension.InitError`` / ``Extension.ExitError``; an extension that exits, with
``Extension.Crash`` (the launcher reports it). Hostile use is bounded: at most ``MAX_EXTENSIONS``
registrations, only during INIT, only under a name that is an extension of the function.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import stat
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Protocol

from workers.functions.config import FunctionConfig

PREFIX = "/2020-01-01/extension"
EVENTS = frozenset({"INVOKE", "SHUTDOWN"})
MAX_EXTENSIONS = 10
"""Lambda's limit on extensions per function."""
SHUTDOWN_SECONDS = 2.0
"""How long extensions registered for SHUTDOWN get to finish before the sandbox is killed (Lambda's)."""
EXITED_PATH = f"{PREFIX}/stepline-exited"
"""Stepline's own: the launcher reports an extension process that ended (its name, its status)."""
REGISTERED_PATH = f"{PREFIX}/stepline-registered"
"""Stepline's own: the launcher waits there for every extension's registration, then starts the
runtime (Lambda's INIT: extension init, then runtime init)."""


class Replier(Protocol):
    """The connection a request came on (``RuntimeConnection``)."""

    def reply(self, status: int, body: bytes, headers: Mapping[str, str] | None = None) -> None:
        """Write one HTTP response."""


def error(error_type: str, message: str) -> bytes:
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode()


@functools.cache
def _names_in(layers: tuple[Path, ...]) -> tuple[str, ...]:
    found: dict[str, None] = {}
    for layer in layers:
        folder = layer / "extensions"
        if folder.is_dir():
            for entry in sorted(folder.iterdir()):
                if entry.is_file() and os.access(entry, os.X_OK):
                    found[entry.name] = None
    return tuple(sorted(found))[:MAX_EXTENSIONS]


def extension_names(config: FunctionConfig) -> tuple[str, ...]:
    """The external extensions of a function: executables in its layers' ``extensions/`` folders
    (merged under /opt/extensions; a later layer's file replaces an earlier one's), or for a
    container image those in the image's /opt/extensions. Layer directories and image roots never
    change once stored, so the answer is cached per set of layers or per image root."""
    if config.image is not None:
        return _names_in_image(config.code_dir)
    if not config.layer_dirs:
        return ()
    return _names_in(config.layer_dirs)


@functools.cache
def _names_in_image(rootfs: Path) -> tuple[str, ...]:
    """Executables in ``rootfs``/opt/extensions: regular files with an execute bit, and symbolic
    links that lead to one inside the image (``_image_extensions``)."""
    return _image_extensions(rootfs)[0]


def refused_extensions(config: FunctionConfig) -> tuple[tuple[str, str], ...]:
    """An image's links in /opt/extensions that lead out of it or nowhere, with why (name, reason):
    its environments fail INIT with ``Extension.LaunchError`` naming the first, as Lambda's do when
    an extension cannot be started. A zip function has none (layers hold no links: ``unpack``)."""
    return _image_extensions(config.code_dir)[1] if config.image is not None else ()


IMAGE_LINK_LIMIT = 40
"""Links followed on the way to one extension (Linux's own limit): past it, ELOOP as exec would."""
NOT_THE_IMAGES = ("proc", "dev", "tmp", "run/lambda", "var/rapid", "etc/hosts")
"""Paths under which an image's sandbox shows what the worker mounts, not the image's files
(``images.launch.binds``): a link there leads out of the image."""


@functools.cache
def _image_extensions(rootfs: Path) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """(extension names, refused links) of an image, read without following anything on the host:
    an entry's links are resolved as the sandbox resolves them, the image's root as ``/`` (an
    absolute target starts again from the image's root), but one climbing above that root with
    ``..``, or reaching what the sandbox mounts over the image (``NOT_THE_IMAGES``), is refused
    rather than read; so is a dangling link or a loop. A link to a directory or to a file without
    an execute bit is skipped, as such a file is. A link on the way to the folder itself, or the
    folder being one, means no extensions."""
    folder = rootfs / "opt" / "extensions"
    try:
        if any(stat.S_ISLNK(os.lstat(p).st_mode) for p in (rootfs / "opt", folder)):
            return (), ()
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return (), ()
    found: list[str] = []
    refused: list[tuple[str, str]] = []
    for entry in entries:
        if entry.is_symlink():
            target, reason = resolve_in_image(rootfs, f"opt/extensions/{entry.name}")
            if target is None:
                refused.append((entry.name, reason))
                continue
            mode = os.lstat(target).st_mode
        else:
            mode = entry.stat(follow_symlinks=False).st_mode
        if stat.S_ISREG(mode) and mode & 0o111:
            found.append(entry.name)
    return tuple(found)[:MAX_EXTENSIONS], tuple(refused)


def resolve_in_image(rootfs: Path, relative: str) -> tuple[Path | None, str]:
    """Where ``relative`` (a path inside the image) leads, each link followed with ``rootfs`` as the
    root: (its host path, "") if it stays in the image and exists, else (None, why not)."""
    pending = list(reversed(PurePosixPath(relative).parts))
    inside: list[str] = []
    links = 0
    while pending:
        part = pending.pop()
        if part in ("", ".", "/"):
            continue
        if part == "..":
            if not inside:
                return None, "the link leads out of the image (above its root)"
            inside.pop()
            continue
        where = "/".join([*inside, part])
        if any(where == m or where.startswith(f"{m}/") for m in NOT_THE_IMAGES):
            return (
                None,
                f"the link leads out of the image (to /{where}, which the sandbox does not take from it)",
            )
        path = rootfs.joinpath(*inside, part)
        try:
            mode = os.lstat(path).st_mode
        except OSError:
            return None, f"the link leads to /{'/'.join([*inside, part])}: no such file or directory"
        if not stat.S_ISLNK(mode):
            inside.append(part)
            continue
        links += 1
        if links > IMAGE_LINK_LIMIT:
            return None, "too many levels of symbolic links"
        target = os.readlink(path)
        if target.startswith("/"):
            inside = []
        pending.extend(reversed(PurePosixPath(target).parts))
    return rootfs.joinpath(*inside), ""


@dataclass(slots=True)
class Extension:
    """One registered extension."""

    name: str
    events: frozenset[str]
    identifier: str = field(default_factory=lambda: str(uuid.uuid4()))
    waiting: Replier | None = None
    """Its pending ``event/next``."""
    queued: deque[bytes] = field(default_factory=deque)
    """Events not taken yet (it was not waiting when they came)."""


class ExtensionsHost:
    """The extensions of one environment, and what the environment waits on."""

    def __init__(
        self, config: FunctionConfig, names: Sequence[str], on_failure: Callable[[str, str], None],
        on_ready: Callable[[], None], on_subscribe: Callable[[str, bytes], tuple[int, bytes]],
    ) -> None:  # fmt: skip
        self._config = config
        self.expected = tuple(names)
        self._on_failure = on_failure
        """Ends the environment with (error type, message)."""
        self._on_ready = on_ready
        self._on_subscribe = on_subscribe
        self.by_id: dict[str, Extension] = {}
        self.initialising = True
        self._settled: asyncio.Future[None] | None = None
        self.invoke_subscribers = 0
        self._shutdown: asyncio.Future[None] | None = None
        self._launcher: list[Replier] = []
        """Waiting on ``REGISTERED_PATH``."""
        self._exited: set[str] = set()

    @property
    def ready(self) -> bool:
        """Every expected extension registered and waits for its next event (or has one queued)."""
        return len(self.by_id) >= len(self.expected) and all(
            e.waiting is not None and not e.queued for e in self.by_id.values()
        )

    # requests ------------------------------------------------------------------------------

    def handle(self, conn: Replier, method: str, path: str, headers: Mapping[str, str], body: bytes) -> None:
        """Answer one Extensions API request (``path`` below ``PREFIX``) on ``conn``."""
        route = path[len(PREFIX) :]
        if method == "POST" and route == "/register":
            conn.reply(*self._register(headers.get("lambda-extension-name", ""), body))
            return
        if method == "GET" and path == REGISTERED_PATH:
            self._launcher.append(conn)
            self._answer_launcher()
            return
        if method == "POST" and path == EXITED_PATH:
            name = headers.get("lambda-extension-name", "")
            conn.reply(202, b'{"status":"OK"}')
            if self._shutdown is not None:  # told to finish: exiting is what it should do
                self._exited.add(name)
                self._check_shut_down()
                return
            said = body.decode(errors="replace")[:200]
            self._on_failure("Extension.Crash", f"Extension {name[:100]!r} exited: {said}")
            return
        extension = self.by_id.get(headers.get("lambda-extension-identifier", ""))
        if extension is None:
            conn.reply(403, error("Extension.Forbidden", "Missing or unknown Lambda-Extension-Identifier"))
            return
        if method == "GET" and route == "/event/next":
            self._next(extension, conn)
        elif method == "POST" and route in ("/init/error", "/exit/error"):
            kind = "Extension.InitError" if route == "/init/error" else "Extension.ExitError"
            reported = headers.get("lambda-extension-function-error-type", "Unknown")[:100]
            conn.reply(202, b'{"status":"OK"}')
            self._on_failure(kind, f"Extension {extension.name!r} reported {reported}")
        else:
            conn.reply(404, error("NotFound", f"No such Extensions API path: {method} {path[:100]}"))

    def subscribe(self, conn: Replier, identifier: str, body: bytes) -> None:
        """A Telemetry API subscription, from a registered extension only."""
        if identifier not in self.by_id:
            conn.reply(403, error("Extension.Forbidden", "Missing or unknown Lambda-Extension-Identifier"))
            return
        conn.reply(*self._on_subscribe(identifier, body))

    def _register(self, name: str, body: bytes) -> tuple[int, bytes, dict[str, str]]:
        if not self.initialising:
            return 403, error("Extension.Forbidden", "Extensions register during INIT only"), {}
        if name not in self.expected:
            known = ", ".join(self.expected) or "none"
            return 403, error("Extension.Forbidden", f"Lambda-Extension-Name {name[:100]!r} is not an "
                              f"extension of this function (its extensions: {known})"), {}  # fmt: skip
        if any(e.name == name for e in self.by_id.values()):
            return 409, error("Extension.AlreadyRegistered", f"Extension {name!r} is already registered"), {}
        try:
            doc = json.loads(body or b"{}")
            events = doc.get("events", []) if isinstance(doc, dict) else None
        except ValueError:
            events = None
        if not isinstance(events, list) or not all(isinstance(e, str) and e in EVENTS for e in events):
            return 400, error("InvalidRequest", 'The body must be {"events": [...]} of INVOKE, SHUTDOWN'), {}
        extension = Extension(name, frozenset(events))
        self.by_id[extension.identifier] = extension
        self.invoke_subscribers += "INVOKE" in extension.events
        self._answer_launcher()
        answer = {
            "functionName": self._config.name,
            "functionVersion": self._config.version,
            "handler": self._config.handler,
        }
        return 200, json.dumps(answer).encode(), {"Lambda-Extension-Identifier": extension.identifier}

    def _answer_launcher(self) -> None:
        if len(self.by_id) >= len(self.expected) or not self.initialising:
            waiting, self._launcher = self._launcher, []  # (bounded by the socket's connection cap)
            for conn in waiting:
                conn.reply(200, b'{"status":"OK"}')

    def _next(self, extension: Extension, conn: Replier) -> None:
        if extension.queued:
            self._send(conn, extension.queued.popleft())
            return
        extension.waiting = conn
        if self._shutdown is not None:
            self._check_shut_down()
        elif self.initialising and self.ready:
            self._on_ready()
        elif self._settled is not None and not self._settled.done() and self._all_invoked_waiting():
            self._settled.set_result(None)

    @staticmethod
    def _send(conn: Replier, event: bytes) -> None:
        conn.reply(200, event, {"Lambda-Extension-Event-Identifier": str(uuid.uuid4())})

    # the environment's side ----------------------------------------------------------------

    def _all_invoked_waiting(self) -> bool:
        return all(e.waiting is not None for e in self.by_id.values() if "INVOKE" in e.events)

    def dispatch(self, event_type: str, event: Mapping[str, object]) -> None:
        """Hand an INVOKE or SHUTDOWN event to every extension registered for it."""
        data = json.dumps({"eventType": event_type, **event}).encode()
        for extension in self.by_id.values():
            if event_type not in extension.events:
                continue
            if extension.waiting is not None:
                waiting, extension.waiting = extension.waiting, None
                self._send(waiting, data)
            else:
                extension.queued.append(data)

    def invoke(self, request_id: str, deadline_ms: int, arn: str) -> None:
        """The INVOKE event, sent with the runtime's (``settled`` then waits for the extensions)."""
        self._settled = asyncio.get_running_loop().create_future()
        tracing = {"type": "X-Amzn-Trace-Id", "value": f"Root={request_id}"}
        event = {"deadlineMs": deadline_ms, "requestId": request_id, "invokedFunctionArn": arn}
        self.dispatch("INVOKE", {**event, "tracing": tracing})

    async def settled(self) -> None:
        """Wait until every extension registered for INVOKE waits for its next event again."""
        if self._settled is not None and not self._settled.done() and not self._all_invoked_waiting():
            await self._settled
        self._settled = None

    def shut_down(self, reason: str) -> asyncio.Future[None] | None:
        """Send SHUTDOWN to the extensions registered for it; the future resolves once each has
        exited or asks for its next event again (None: none is registered for it)."""
        if not any("SHUTDOWN" in e.events for e in self.by_id.values()):
            return None
        self._shutdown = asyncio.get_running_loop().create_future()
        deadline_ms = int((time.time() + SHUTDOWN_SECONDS) * 1000)
        self.dispatch("SHUTDOWN", {"shutdownReason": reason, "deadlineMs": deadline_ms})
        return self._shutdown

    def _check_shut_down(self) -> None:
        told = [e for e in self.by_id.values() if "SHUTDOWN" in e.events]
        finished = all(e.name in self._exited or (e.waiting is not None and not e.queued) for e in told)
        if finished and self._shutdown is not None and not self._shutdown.done():
            self._shutdown.set_result(None)

    def release(self) -> None:
        """The environment ended: ``settled`` returns (its caller sees the environment dead)."""
        self.initialising = False
        if self._settled is not None and not self._settled.done():
            self._settled.set_result(None)
        if self._shutdown is not None and not self._shutdown.done():
            self._shutdown.set_result(None)
