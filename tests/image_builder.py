"""A small image builder for tests: layers from entries, written as an OCI image layout (directory or
tar) or as a ``docker save`` tarball (legacy or OCI form), and a Python image built from this
machine's own files (no registry exists here to pull one from).

The Python image holds Debian's /usr/bin/python3.11, the shared libraries it needs, its standard
library, and ``/app/runtime.py``: a Runtime API client (``AWS_LAMBDA_RUNTIME_API``) whose handler
answers with what the function sees: its arguments, working directory, variables and files.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import subprocess
import tarfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zstandard

PYTHON = Path("/usr/bin/python3.11")
STDLIB = Path("/usr/lib/python3.11")
STDLIB_SKIPPED = frozenset(
    {"test", "dist-packages", "site-packages", "idlelib", "tkinter", "lib2to3", "ensurepip", "pydoc_data",
     "turtledemo", "config-3.11-x86_64-linux-gnu", "unittest", "distutils", "venv"}
)  # fmt: skip
RUNTIME_CLIENT = '''\
"""A Runtime API client over one keep-alive connection: each event's answer tells what the function
sees. Only ``socket`` and ``json``: it starts in milliseconds, as a runtime built for cold starts does."""
import json, os, socket, sys

print("init", flush=True)
host, _, port = os.environ["AWS_LAMBDA_RUNTIME_API"].partition(":")
connection = socket.create_connection((host, int(port)))
pending = b""
base = "/2018-06-01/runtime/invocation/"


def receive():
    chunk = connection.recv(65536)
    if not chunk:
        sys.exit("the Runtime API closed the connection")
    return chunk


def exchange(method, path, body=b""):
    global pending
    head = f"{method} {path} HTTP/1.1\\r\\nHost: runtime\\r\\nContent-Length: {len(body)}\\r\\n\\r\\n"
    connection.sendall(head.encode() + body)
    while b"\\r\\n\\r\\n" not in pending:
        pending += receive()
    head, _, pending = pending.partition(b"\\r\\n\\r\\n")
    lines = head.decode().split("\\r\\n")[1:]
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    length = int(headers.get("content-length", 0))
    while len(pending) < length:
        pending += receive()
    answer, pending = pending[:length], pending[length:]
    return headers, answer


def write(path):
    try:
        with open(path, "w") as sink:
            sink.write("x")
        return "ok"
    except OSError as exc:
        return exc.strerror


def status():
    keep = ("Uid", "CapEff", "NoNewPrivs", "Seccomp")
    with open("/proc/self/status") as lines:
        return {k: v.strip() for k, _, v in (line.partition(":") for line in lines) if k in keep}


def connect(host, port):
    try:
        socket.create_connection((host, port), timeout=1).close()
        return "connected"
    except OSError as exc:
        return type(exc).__name__


def age():
    """Seconds since this process started (its start time in /proc, in clock ticks since boot)."""
    with open("/proc/self/stat") as stat:
        started = int(stat.read().rpartition(")")[2].split()[19]) / os.sysconf("SC_CLK_TCK")
    with open("/proc/uptime") as uptime:
        return float(uptime.read().split()[0]) - started


def handle(event):
    if event.get("sleep"):
        import time
        time.sleep(event["sleep"])
    if event.get("fail"):
        raise RuntimeError("asked to fail")
    paths = event.get("paths", [])
    return {
        "argv": sys.argv, "cwd": os.getcwd(),
        "env": {k: os.environ.get(k) for k in event.get("env", [])},
        "exists": {p: os.path.lexists(p) for p in paths},
        "read": {p: open(p).read() for p in event.get("read", [])},
        "wrote": {p: write(p) for p in event.get("write", [])},
        "echo": event.get("echo"),
        "status": status(),
        "connect": {f"{h}:{p}": connect(h, p) for h, p in event.get("connect", [])},
        "pids": sorted(int(n) for n in os.listdir("/proc") if n.isdigit()),
        "allocated": len(bytearray(event.get("allocate_mb", 0) * 1024 * 1024)),
        **({"age": age()} if event.get("age") else {}),
    }


while True:
    headers, event = exchange("GET", base + "next")
    request_id = headers["lambda-runtime-aws-request-id"]
    try:
        body, path = json.dumps(handle(json.loads(event))).encode(), base + request_id + "/response"
    except Exception as exc:
        body = json.dumps({"errorType": type(exc).__name__, "errorMessage": str(exc)}).encode()
        path = base + request_id + "/error"
    exchange("POST", path, body)
'''


@dataclass
class Entry:
    """One tar entry: a file (``data``), a directory, a symbolic or hard link, or a device."""

    name: str
    data: bytes | None = None
    kind: bytes = tarfile.REGTYPE
    mode: int = 0o644
    link: str = ""
    mtime: int = 1_700_000_000


def file(name: str, data: bytes | str, mode: int = 0o644) -> Entry:
    return Entry(name, data.encode() if isinstance(data, str) else data, mode=mode)


def directory(name: str, mode: int = 0o755) -> Entry:
    return Entry(name, kind=tarfile.DIRTYPE, mode=mode)


def symlink(name: str, target: str) -> Entry:
    return Entry(name, kind=tarfile.SYMTYPE, link=target, mode=0o777)


def hardlink(name: str, target: str) -> Entry:
    return Entry(name, kind=tarfile.LNKTYPE, link=target)


def device(name: str) -> Entry:
    return Entry(name, kind=tarfile.CHRTYPE, mode=0o666)


def layer_tar(entries: Iterable[Entry]) -> bytes:
    """An uncompressed layer."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for entry in entries:
            info = tarfile.TarInfo(entry.name)
            info.type, info.mode, info.linkname, info.mtime = entry.kind, entry.mode, entry.link, entry.mtime
            if entry.kind == tarfile.CHRTYPE:
                info.devmajor, info.devminor = 1, 3
            info.size = len(entry.data or b"")
            tar.addfile(info, io.BytesIO(entry.data) if entry.data is not None else None)
    return buffer.getvalue()


def compress(data: bytes, how: str) -> bytes:
    if how == "gzip":
        return gzip.compress(data, compresslevel=1, mtime=0)
    if how == "zstd":
        return zstandard.ZstdCompressor(level=3).compress(data)
    return data


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class Image:
    """Layers (uncompressed tars) and the configuration's ``config`` object."""

    layers: Sequence[bytes]
    config: dict[str, Any] = field(default_factory=dict)
    compression: Sequence[str] = ()
    """Per layer: gzip (the default), zstd or none."""
    architecture: str = "amd64"

    def config_document(self) -> bytes:
        doc = {
            "architecture": self.architecture, "os": "linux", "config": self.config,
            "rootfs": {"type": "layers", "diff_ids": [sha256(layer) for layer in self.layers]},
        }  # fmt: skip
        return json.dumps(doc).encode()

    def blobs(self) -> list[tuple[str, bytes]]:
        """(media type, bytes) of each layer as stored."""
        found = []
        for number, layer in enumerate(self.layers):
            how = self.compression[number] if number < len(self.compression) else "gzip"
            suffix = {"gzip": "+gzip", "zstd": "+zstd", "none": ""}[how]
            found.append((f"application/vnd.oci.image.layer.v1.tar{suffix}", compress(layer, how)))
        return found

    def manifest(self) -> bytes:
        config = self.config_document()
        doc = {
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256(config),
                       "size": len(config)},
            "layers": [{"mediaType": t, "digest": sha256(b), "size": len(b)} for t, b in self.blobs()],
        }  # fmt: skip
        return json.dumps(doc).encode()


def layout_files(image: Image, name: str, *, with_index: bool = True) -> dict[str, bytes]:
    """The files of an OCI image layout holding ``image`` as ``name`` (repository:tag); with an
    index listing it for linux/amd64 beside an arm64 image that must not be chosen."""
    files: dict[str, bytes] = {"oci-layout": b'{"imageLayoutVersion": "1.0.0"}'}
    config, manifest = image.config_document(), image.manifest()
    for data in (config, manifest, *(b for _, b in image.blobs())):
        files[f"blobs/sha256/{sha256(data)[7:]}"] = data
    annotations = {"io.containerd.image.name": name, "org.opencontainers.image.ref.name": name.split(":")[-1]}
    descriptor: dict[str, Any] = {
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": sha256(manifest),
        "size": len(manifest),
    }  # fmt: skip
    if with_index:
        other = Image([layer_tar([file("arm", "arm64")])], architecture="arm64")
        other_config, other_manifest = other.config_document(), other.manifest()
        for data in (other_config, other_manifest, *(b for _, b in other.blobs())):
            files[f"blobs/sha256/{sha256(data)[7:]}"] = data
        index = {
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [
                {**descriptor, "platform": {"os": "linux", "architecture": "arm64"},
                 "digest": sha256(other_manifest), "size": len(other_manifest)},
                {**descriptor, "platform": {"os": "linux", "architecture": "amd64"}},
            ],
        }  # fmt: skip
        index_bytes = json.dumps(index).encode()
        files[f"blobs/sha256/{sha256(index_bytes)[7:]}"] = index_bytes
        top = {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": sha256(index_bytes),
               "size": len(index_bytes)}  # fmt: skip
    else:
        top = descriptor
    index_doc = {"schemaVersion": 2, "manifests": [{**top, "annotations": annotations}]}
    files["index.json"] = json.dumps(index_doc).encode()
    return files


def docker_save_files(image: Image, name: str) -> dict[str, bytes]:
    """The legacy ``docker save`` form: ``<id>/layer.tar`` (uncompressed) and ``<digest>.json``."""
    config = image.config_document()
    files = {f"{sha256(config)[7:]}.json": config}
    names = []
    for number, layer in enumerate(image.layers):
        names.append(f"{number:064x}/layer.tar")
        files[names[-1]] = layer
    manifest = [{"Config": f"{sha256(config)[7:]}.json", "RepoTags": [name], "Layers": names}]
    files["manifest.json"] = json.dumps(manifest).encode()
    return files


def docker_oci_save_files(image: Image, name: str) -> dict[str, bytes]:
    """Newer Docker's ``docker save``: an OCI layout plus a manifest.json naming the blobs."""
    files = layout_files(image, name, with_index=False)
    config = image.config_document()
    layers = [f"blobs/sha256/{sha256(b)[7:]}" for _, b in image.blobs()]
    files["manifest.json"] = json.dumps(
        [{"Config": f"blobs/sha256/{sha256(config)[7:]}", "RepoTags": [name], "Layers": layers}]
    ).encode()
    return files


def write_tar(files: dict[str, bytes], path: Path) -> Path:
    with tarfile.open(path, "w") as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def write_directory(files: dict[str, bytes], path: Path) -> Path:
    for name, data in files.items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return path


def python_layer() -> bytes:
    """A layer with this machine's Debian Python, its libraries and standard library (~24 MB)."""
    entries: list[Entry] = [directory("usr"), directory("usr/bin"), symlink("bin", "usr/bin"),
                            directory("usr/lib"), symlink("lib", "usr/lib"), directory("lib64")]  # fmt: skip
    entries.append(file("usr/bin/python3.11", PYTHON.read_bytes(), 0o755))
    entries.append(symlink("usr/bin/python3", "python3.11"))
    libraries = subprocess.run(["ldd", str(PYTHON)], capture_output=True, text=True, check=True).stdout
    seen: set[str] = set()
    for line in libraries.splitlines():
        parts = line.split()
        path = parts[2] if "=>" in parts and len(parts) > 2 else parts[0]
        if not path.startswith("/"):
            continue
        real = Path(path).resolve()
        folder = "lib64" if "ld-linux" in path else "usr/lib/x86_64-linux-gnu"
        inside = f"{folder}/{Path(path).name}"
        if inside not in seen:
            seen.add(inside)
            entries.append(file(inside, real.read_bytes(), 0o755))
    entries.insert(4, directory("usr/lib/x86_64-linux-gnu"))
    for directory_path, names, files in os.walk(STDLIB):
        relative = Path(directory_path).relative_to(STDLIB)
        if relative.parts and relative.parts[0] in STDLIB_SKIPPED:
            names[:] = []
            continue
        names[:] = [n for n in names if n not in STDLIB_SKIPPED]
        folder_path = Path("usr/lib/python3.11") / relative
        entries.append(directory(str(folder_path)))
        for name in sorted(files):
            source = Path(directory_path) / name
            if source.is_symlink() or not source.is_file():
                continue
            entry = file(str(folder_path / name), source.read_bytes(), 0o644)
            entry.mtime = int(source.stat().st_mtime)  # the byte code's check of its source
            entries.append(entry)
    return layer_tar(entries)


def python_image(extra_layers: Sequence[bytes] = (), config: dict[str, Any] | None = None) -> Image:
    """The Python image with its Runtime API client as CMD; ``extra_layers`` on top."""
    app = layer_tar([directory("app"), file("app/runtime.py", RUNTIME_CLIENT), directory("work")])
    base_config = {
        "Cmd": ["/usr/bin/python3", "-S", "/app/runtime.py"], "WorkingDir": "/work",
        "Env": ["PATH=/usr/local/bin:/usr/bin:/bin", "IMAGE_ONLY=from-image", "SHARED=image"],
    }  # fmt: skip
    return Image([python_layer(), app, *extra_layers], base_config | (config or {}), ("gzip", "zstd"))
