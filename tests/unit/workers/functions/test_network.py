"""What a networked sandbox's namespace is given: the ``ip -batch`` commands, and the host's addresses."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

import pytest

from workers.functions.network import ALWAYS_DENIED, host_addresses, namespace_batch

INTERFACE = [
    "link set tap0 mtu 65520 up",
    "addr add 10.0.2.100/24 dev tap0",
    "route add default via 10.0.2.2 dev tap0",
]
ALWAYS = [f"route add prohibit {cidr}" for cidr in ALWAYS_DENIED]
RULES = [
    "rule add to 10.0.2.3/32 ipproto udp dport 53 lookup main priority 100",
    "rule add to 10.0.2.3/32 ipproto tcp dport 53 lookup main priority 101",
    "rule add to 10.0.2.0/24 prohibit priority 102",
]


@pytest.mark.parametrize(
    ("deny", "host", "prohibited"),
    [
        ([], [], []),
        (["10.0.0.0/8"], ["192.0.2.2"], ["10.0.0.0/8", "192.0.2.2/32"]),
        (["192.0.2.0/24", "192.0.2.0/24"], ["192.0.2.2", "192.0.2.2"], ["192.0.2.0/24", "192.0.2.2/32"]),
        (["0.0.0.0/0"], [], ["0.0.0.0/1", "128.0.0.0/1"]),
        (["10.0.2.0/25", "10.0.2.3/32"], ["10.0.2.50"], []),
        (["169.254.0.0/16", "127.0.0.1/32"], [], ["127.0.0.1/32"]),
    ],
    ids=["defaults-only", "deny-and-host", "duplicates", "everything", "inside-slirp", "already-denied"],
)  # fmt: skip
def test_namespace_batch(deny: list[str], host: list[str], prohibited: list[str]) -> None:
    batch = namespace_batch([IPv4Network(d) for d in deny], [IPv4Address(h) for h in host])
    expected = [*INTERFACE, *ALWAYS, *(f"route add prohibit {cidr}" for cidr in prohibited), *RULES]
    assert batch.splitlines() == expected


def test_host_addresses_include_loopback() -> None:
    assert IPv4Address("127.0.0.1") in host_addresses()
