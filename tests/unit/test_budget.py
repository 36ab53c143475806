"""Each server process's share of PostgreSQL's connections."""

import pytest

from app.budget import Budget


def _budget(processes: int, server_limit: int = 100, pooled: bool = False) -> Budget:
    return Budget(
        server_limit=server_limit, reserved=3, processes=processes, wanted=30, pooled=pooled
    )


def test_budget_four_workers_on_a_default_server_stay_under_its_limit() -> None:
    # The case: 4 × (10 + 20) asked for 120 of 100.
    budget = _budget(4)
    assert budget.fits
    assert budget.pool == 20
    assert budget.used == 84 <= 100 - 3 - budget.margin


def test_budget_one_worker_keeps_the_configured_pool() -> None:
    assert _budget(1).pool == 30


@pytest.mark.parametrize(("processes", "fits"), [(1, True), (5, True), (6, False), (15, False)])
def test_budget_on_a_small_server_fits_so_many_processes(processes: int, fits: bool) -> None:
    budget = _budget(processes, server_limit=20)
    assert budget.fits is fits
    assert budget.most_processes() == 5
    if fits:
        assert budget.used <= 20 - 3 - 2
    else:
        assert "Start at most 5 workers" in budget.refusal()


def test_budget_through_a_pooler_counts_only_the_listeners() -> None:
    budget = _budget(12, server_limit=20, pooled=True)
    assert budget.fits
    assert budget.pool == 30  # PgBouncer queues them onto its own server connections
    assert budget.used == 12
    assert not _budget(16, server_limit=20, pooled=True).fits
