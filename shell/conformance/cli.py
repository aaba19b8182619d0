"""``stepline conformance DIR [--api URL | --aws URL]``: run every case of a corpus directory and report."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import httpx

from shell.conformance.aws import run_aws
from shell.conformance.cases import CaseFormatError, load_cases
from shell.conformance.remote import RemoteError, run_remote
from shell.conformance.report import print_report, write_json
from shell.conformance.runner import run_cases


def run_conformance(
    directory: Path,
    *,
    json_out: Path | None,
    only: str | None,
    quiet: bool,
    api_url: str | None = None,
    token: str | None = None,
    aws_url: str | None = None,
) -> int:
    """Exit code: 0 when every case passed, 1 when some failed, 2 when the corpus is unreadable (or
    the API at ``api_url``, which runs the cases end to end when given, cannot be reached; or the
    Step Functions endpoint at ``aws_url``, the same end to end through boto3)."""
    try:
        cases = load_cases(directory, only)
    except CaseFormatError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not cases:
        print(f"error: no cases in {directory}" + (f" matching {only!r}" if only else ""), file=sys.stderr)
        return 2
    if api_url is None and aws_url is None:
        results = asyncio.run(run_cases(cases))
    else:
        url = aws_url or api_url
        try:
            if aws_url is not None:
                results = asyncio.run(run_aws(cases, aws_url, token=token))
            else:
                results = asyncio.run(run_remote(cases, str(api_url), token=token))
        except (httpx.TransportError, RemoteError) as exc:
            print(f"error: cannot use the API at {url}: {exc}", file=sys.stderr)
            return 2
    print_report(results, sys.stdout, quiet=quiet)
    if json_out is not None:
        try:
            write_json(results, json_out)
        except OSError as exc:
            print(f"error: cannot write {json_out}: {exc}", file=sys.stderr)
            return 2
    return 0 if all(r.passed for r in results) else 1
