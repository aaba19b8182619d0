"""Stepline's Python runtime: the bootstrap that runs inside the sandbox (``python3 -S``).

It imports the handler once (INIT), then loops: take the next event from the Runtime API, call
``handler(event, context)``, post the result or the error document. It speaks HTTP/1.1 over the
Unix socket the worker serves, with a hand-rolled client so that a warm invocation costs two
small writes and two reads. It imports only C modules at start (``_json``, ``_socket``: ``json``
and ``socket`` would pull in ``re`` and ``enum``, 20 ms of a cold start); ``traceback`` is loaded
only when there is an error to format.
"""

from __future__ import annotations

import _json
import _socket
import _thread
import math
import os
import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing imports re: not at run time
    from typing import Any


class _DecodeContext:
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = staticmethod({"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}.__getitem__)
    memo: dict[str, Any] = {}


_scan = _json.make_scanner(_DecodeContext())  # type: ignore[arg-type]
_WHITESPACE = " \t\n\r"


def loads(text: bytes | str) -> Any:
    """``json.loads`` for a whole document, through the C scanner."""
    text = text.decode("utf-8") if isinstance(text, (bytes, bytearray)) else text
    start = len(text) - len(text.lstrip(_WHITESPACE))
    try:
        value, end = _scan(text, start)
    except StopIteration:
        import json  # only for bad JSON: json pulls in re (12 ms of a cold start)

        return json.loads(text)  # raises the proper JSONDecodeError
    if text[end:].strip(_WHITESPACE):
        import json  # only for bad JSON (above)

        return json.loads(text)
    return value


def _default(obj: object) -> Any:
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def dumps(obj: Any) -> str:
    """``json.dumps`` with its default separators, through the C encoder."""
    encode = _json.make_encoder(
        {}, _default, _json.encode_basestring_ascii, None, ": ", ", ", False, False, True
    )
    return "".join(encode(obj, 0))


API = "/2018-06-01/runtime"
SOCKET = "/run/lambda/runtime.sock"
CREDENTIALS_HEADER = "stepline-aws-credentials"
"""Stepline's extension of the next event's headers: fresh session credentials (``aws_api``)."""


class RuntimeClient:
    """A keep-alive HTTP/1.1 client for the Runtime API."""

    def __init__(self) -> None:
        if os.path.exists(SOCKET):
            self.sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
            self.sock.connect(SOCKET)
        else:
            host, _, port = os.environ["AWS_LAMBDA_RUNTIME_API"].partition(":")
            self.sock = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
            self.sock.connect((host, int(port or 80)))
        self.buf = b""

    def request(
        self, method: str, path: str, body: bytes = b"", headers: str = ""
    ) -> tuple[int, dict[str, str], bytes]:
        head = f"{method} {API}{path} HTTP/1.1\r\nHost: rt\r\n{headers}Content-Length: {len(body)}\r\n\r\n"
        self.sock.sendall(head.encode() + body)
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end >= 0:
                break
            self._fill()
        lines = self.buf[:end].decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        fields: dict[str, str] = {}
        for line in lines[1:]:
            key, _, value = line.partition(":")
            fields[key.strip().lower()] = value.strip()
        length = int(fields.get("content-length", "0"))
        while len(self.buf) < end + 4 + length:
            self._fill()
        payload = self.buf[end + 4 : end + 4 + length]
        self.buf = self.buf[end + 4 + length :]
        return status, fields, payload

    def _fill(self) -> None:
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            sys.exit(0)
        self.buf += chunk


class Client:
    """``context.client_context.client``: the calling app, as Lambda's runtime shows it."""

    __slots__ = ("app_package_name", "app_title", "app_version_code", "app_version_name", "installation_id")

    def __init__(self, doc: dict[str, Any]) -> None:
        self.installation_id = doc.get("installation_id")
        self.app_title = doc.get("app_title")
        self.app_version_name = doc.get("app_version_name")
        self.app_version_code = doc.get("app_version_code")
        self.app_package_name = doc.get("app_package_name")


class ClientContext:
    """``context.client_context``: the invoker's ClientContext (``custom``, ``env``, ``client``)."""

    __slots__ = ("client", "custom", "env")

    def __init__(self, doc: dict[str, Any]) -> None:
        self.custom = doc.get("custom")
        self.env = doc.get("env")
        client = doc.get("client")
        self.client = Client(client) if isinstance(client, dict) else client


def client_context_of(header: str | None) -> ClientContext | None:
    """The ``Lambda-Runtime-Client-Context`` header (JSON) as Lambda's Python runtime gives it."""
    doc = loads(header) if header else None
    return ClientContext(doc) if isinstance(doc, dict) else None


class LambdaContext:
    """The context object handlers receive, with the fields Lambda documents."""

    def __init__(
        self, request_id: str, deadline_ms: int, arn: str, client_context: ClientContext | None = None
    ) -> None:
        self.aws_request_id = request_id
        self.invoked_function_arn = arn
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.identity = None
        self.client_context = client_context
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(int(self._deadline_ms - time.time() * 1000), 0)


class InitFault(Exception):
    def __init__(self, error_type: str, message: str, trace: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.trace = list(trace)


def load_handler(spec: str) -> Any:
    """Import ``module.function`` the way Lambda's Python runtime does, with its error names."""
    try:
        module_name, function_name = spec.rsplit(".", 1)
    except ValueError as e:
        raise InitFault("Runtime.MalformedHandlerName", f"Bad handler '{spec}': {e}") from None
    try:
        dotted = module_name.replace("/", ".")
        __import__(dotted)
        module = sys.modules[dotted]
    except ImportError as e:
        raise InitFault(
            "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {e}"
        ) from None
    except SyntaxError as e:
        trace = (f'  File "{e.filename}" Line {e.lineno}\n    {e.text}',)
        raise InitFault(
            "Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {e}", trace
        ) from None
    handler = getattr(module, function_name, None)
    if handler is None:
        raise InitFault(
            "Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'"
        )
    return handler


def error_document(exc: BaseException, request_id: str = "") -> dict[str, Any]:
    import traceback  # only when there is an error: 15 ms of a cold start (linecache, re, ...)

    frames = traceback.extract_tb(exc.__traceback__)
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_list(frames[1:] or frames),
    }


def post_error(client: RuntimeClient, path: str, doc: dict[str, Any]) -> None:
    header = f"Lambda-Runtime-Function-Error-Type: {doc['errorType']}\r\n"
    client.request("POST", path, dumps(doc).encode(), header)


def flush() -> None:
    sys.stdout.flush()
    sys.stderr.flush()


def await_claim() -> None:
    """A spare sandbox: wait on stdin for the function's variables, then become that function.

    The worker writes one JSON object (every variable a normally started environment has) and
    closes the pipe; stdin then reads from /dev/null as in any other environment.
    """
    data = b""
    while chunk := os.read(0, 65536):
        data += chunk
    null = os.open("/dev/null", os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    if not data:
        sys.exit(0)  # shut down before being claimed
    os.environ.update(loads(data))  # the spare's own are the same values (and PWD, LC_CTYPE: the same)
    sys.path_importer_cache.clear()  # /var/task was empty when the interpreter first looked


def start_aws_relay() -> None:
    """A function with ``aws_api``: relay its ``AWS_ENDPOINT_URL`` (the sandbox's loopback) to the
    worker's socket, from a thread (``loopback_relay``, loaded only for such functions)."""
    if not os.environ.get("AWS_ENDPOINT_URL", "").startswith("http://127.0.0.1:"):
        return
    path = "/var/runtime/loopback_relay.py"
    relay: dict[str, Any] = {"__name__": "loopback_relay"}
    with open(path) as source:
        exec(compile(source.read(), path, "exec"), relay)
    address = relay["aws_endpoint_address"]()
    if address is not None:
        _thread.start_new_thread(relay["Relay"]({relay["listen"](address): relay["AWS_SOCKET"]}).run, ())


def main() -> None:
    spare = len(sys.argv) > 1 and sys.argv[1] == "--spare"
    if len(sys.argv) > 2 and sys.argv[1] == "--rlimit-as":
        import resource  # a shared library (0.5 ms), loaded only where no memory cgroup caps the sandbox

        limit = int(sys.argv[2])
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    if sys.path and sys.path[0].startswith("/var/runtime"):  # the script's directory (or __pycache__)
        sys.path.pop(0)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    sys.stderr.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    client = RuntimeClient()
    if spare:
        await_claim()
    start_aws_relay()
    try:
        handler = load_handler(os.environ["_HANDLER"])
    except InitFault as e:
        flush()
        doc = {"errorMessage": e.message, "errorType": e.error_type, "requestId": "", "stackTrace": e.trace}
        post_error(client, "/init/error", doc)
        sys.exit(1)
    except Exception as e:
        doc = error_document(e)
        import traceback  # loaded by error_document already

        traceback.print_exc()
        flush()
        post_error(client, "/init/error", doc)
        sys.exit(1)
    while True:
        _, fields, payload = client.request("GET", "/invocation/next")
        request_id = fields.get("lambda-runtime-aws-request-id", "")
        credentials = fields.get(CREDENTIALS_HEADER)
        if credentials:  # this invocation's (``aws_api``): botocore re-reads them from os.environ
            os.environ.update(loads(credentials))
        try:
            context = LambdaContext(
                request_id,
                int(fields.get("lambda-runtime-deadline-ms", "0")),
                fields.get("lambda-runtime-invoked-function-arn", ""),
                client_context_of(fields.get("lambda-runtime-client-context")),
            )
            value = handler(loads(payload) if payload else None, context)
            # bytes go out as they are, as Lambda's Python runtime sends them
            result = bytes(value) if isinstance(value, (bytes, bytearray)) else dumps(value).encode()
        except MemoryError:
            try:
                flush()
                message = f"RequestId: {request_id} Error: Runtime exited with error: signal: killed"
                doc = {
                    "errorType": "Runtime.OutOfMemory",
                    "requestId": request_id,
                    "stackTrace": [],
                    "errorMessage": message,
                }
                post_error(client, f"/invocation/{request_id}/error", doc)
            finally:
                os._exit(137)
        except (TypeError, ValueError) as e:
            flush()
            doc = error_document(e, request_id)
            if "JSON serializable" in str(e):
                doc = {
                    "errorMessage": f"Unable to marshal response: {e}",
                    "errorType": "Runtime.MarshalError",
                    "requestId": request_id,
                    "stackTrace": [],
                }
            post_error(client, f"/invocation/{request_id}/error", doc)
            continue
        except Exception as e:
            flush()
            post_error(client, f"/invocation/{request_id}/error", error_document(e, request_id))
            continue
        flush()
        client.request("POST", f"/invocation/{request_id}/response", result)


if __name__ == "__main__":
    main()
