"""``stepline validate``: definitions checked on this machine, as the API checks them, for CI."""

from __future__ import annotations

from pathlib import Path

from statemachine import diagnose_text, has_errors


def validate_files(paths: list[Path]) -> int:
    """Print every diagnostic of every file (``file: SEVERITY CODE at location: message``) and
    return the exit status: 0 when none has an error, 1 otherwise, 2 when a file cannot be read."""
    status = 0
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            print(f"{path}: cannot read it: {exc}")
            status = 2
            continue
        found = diagnose_text(text)
        for d in found:
            print(f"{path}: {d.severity} {d.code} at {d.location or '/'}: {d.message.splitlines()[0]}")
        if has_errors(found):
            status = max(status, 1)
        elif not found:
            print(f"{path}: OK")
    return status
