"""Event patterns: compile and match rates of the pure matcher (``workers/events/patterns.py``),
against moto's EventBridge matcher (``moto.events.models.EventPattern``) as the peer, in one run.

    python bench/event_patterns.py [--events N] [--quick] [--no-peer]

Matches a typical EC2-style event against patterns of each kind (exact, prefix, numeric range,
anything-but list, wildcard, $or, a 20-field conjunction) and a hostile wildcard against a 200 KB
value; prints matches per second and microseconds per match, and the peer's microseconds per match
on the same pattern and event (both must agree that it matches; the peer runs a tenth as many).
moto walks the pattern as a tree over a flattened copy of the event (it copies the event through
JSON on every match) and turns a wildcard into a backtracking regular expression, so the hostile
wildcard is not given to it (41 stars: its time grows with the value's length to the 41st power).
PutEvents pays one match per enabled rule of the bus, so these bound how many rules a bus can hold
before matching shows in its latency.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from workers.events.patterns import compile_pattern

try:
    from moto.events.models import EventPattern
except ImportError:  # moto is a dev dependency (pyproject's extras); the peer is then skipped
    EventPattern = None

EVENT: dict[str, Any] = {
    "version": "0",
    "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "111122223333",
    "time": "2017-12-22T18:43:48Z",
    "region": "us-west-1",
    "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
    "detail": {
        "instance-id": "i-1234567890abcdef0",
        "state": "terminated",
        "c-count": 5,
        "file": "a/b/c.png",
    },
}
PATTERNS: dict[str, dict[str, Any]] = {
    "exact": {"source": ["aws.ec2"], "detail": {"state": ["terminated"]}},
    "prefix": {"time": [{"prefix": "2017-12-22"}]},
    "numeric": {"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}]}},
    "anything-but": {"detail": {"state": [{"anything-but": ["running", "stopped", "pending"]}]}},
    "wildcard": {"detail": {"file": [{"wildcard": "a/*/*.png"}]}},
    "$or": {"$or": [{"detail": {"c-count": [9]}}, {"detail": {"state": ["terminated"]}}]},
    "20 fields": {"detail": {f"f{i}": [{"exists": False}] for i in range(20)}},
}


def rate(pattern: dict[str, Any], event: dict[str, Any], count: int) -> float:
    compiled = compile_pattern(pattern)
    start = time.perf_counter()
    for _ in range(count):
        compiled.matches(event)
    return count / (time.perf_counter() - start)


def peer_rate(pattern: dict[str, Any], event: dict[str, Any], count: int) -> float:
    """moto's matches per second on the same pattern and event (it must agree with ours)."""
    compiled = EventPattern.load(json.dumps(pattern))
    assert compiled.matches_event(event) == compile_pattern(pattern).matches(event), pattern
    start = time.perf_counter()
    for _ in range(count):
        compiled.matches_event(event)
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="10,000 events")
    parser.add_argument("--no-peer", action="store_true", help="skip moto's matcher")
    args = parser.parse_args()
    count = 10_000 if args.quick else args.events
    peer = EventPattern is not None and not args.no_peer
    start = time.perf_counter()
    for _ in range(1000):
        compile_pattern(PATTERNS["exact"])
    print(f"compile (exact pattern): {(time.perf_counter() - start) * 1000:.1f} us each")
    header = ("pattern", "stepline matches/s", "us/match", "moto us/match", "moto/stepline")
    print("  ".join(f"{h:>{w}}" for h, w in zip(header, (13, 24, 8, 13, 13), strict=True)))
    for name, pattern in PATTERNS.items():
        per_second = rate(pattern, EVENT, count)
        line = f"{name:>13}: {per_second:>12,.0f} matches/s  {1e6 / per_second:8.2f}"
        if peer:
            peer_per_second = peer_rate(pattern, EVENT, max(100, count // 10))
            line += f"  {1e6 / peer_per_second:13.2f}  {per_second / peer_per_second:12.1f}x"
        print(line)
    hostile = {"v": [{"wildcard": "*a" * 40 + "*x*b"}]}
    per_second = rate(hostile, {"v": "a" * 200_000 + "b"}, 20)
    print(f"hostile wildcard, 200 KB value: {1e3 / per_second:.2f} ms/match (moto: not run, see above)")


if __name__ == "__main__":
    main()
