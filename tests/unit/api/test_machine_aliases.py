"""Choosing an alias's version: by the draw, and by weight over many draws (5-sigma bound)."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime

import pytest

from api.services.machine_aliases import check_routing, choose
from foundation.errors import InvalidRequest
from foundation.registry.machine_aliases import StateMachineAlias, routing_text

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def alias(routing: list[tuple[int, int]]) -> StateMachineAlias:
    return StateMachineAlias(
        state_machine_name="m", name="a", routing=routing_text(routing), created_at=NOW, updated_at=NOW
    )


def test_the_draw_picks_the_version_whose_share_it_falls_in() -> None:
    split = alias([(1, 30), (2, 70)])
    assert [choose(split, d).published for d in (0, 29.99, 30, 99.99)] == [1, 1, 2, 2]
    assert choose(alias([(1, 0), (2, 100)]), 0).published == 2  # a zero weight is never chosen


def test_many_draws_follow_the_weights() -> None:
    random.seed(7)
    split = alias([(1, 10), (2, 90)])
    draws = 20_000
    ones = sum(choose(split).published == 1 for _ in range(draws))
    assert abs(ones - draws * 0.1) <= 5 * math.sqrt(draws * 0.1 * 0.9)


@pytest.mark.parametrize(
    "routing",
    [[], [(1, 50)], [(1, 50), (1, 50)], [(1, 50), (2, 60)], [(1, 101)], [(1, 20), (2, 30), (3, 50)]],
)
def test_routing_aws_refuses(routing: list[tuple[int, int]]) -> None:
    with pytest.raises(InvalidRequest):
        check_routing(routing)
