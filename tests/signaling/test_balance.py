"""Where a new meeting goes (signaling.placement.balance): the least-loaded worker that is
up, by CPU or packet rate, then by what it already holds."""

from __future__ import annotations

from signaling.placement.balance import PACKETS_PER_CORE, WorkerLoad, cost, least_loaded


def test_an_idle_worker_is_chosen_over_a_busy_one() -> None:
    busy = WorkerLoad("1", up=True, meetings=1, peers=5, tracks=10, cpu=0.6)
    idle = WorkerLoad("2", up=True)
    assert least_loaded([busy, idle]) == "2"


def test_packet_rate_counts_when_cpu_has_not_shown_it_yet() -> None:
    forwarding = WorkerLoad("1", up=True, cpu=0.05, packets_per_second=PACKETS_PER_CORE / 2)
    quiet = WorkerLoad("2", up=True, cpu=0.1)
    assert cost(forwarding) > cost(quiet)
    assert least_loaded([forwarding, quiet]) == "2"


def test_meetings_placed_in_the_same_second_spread() -> None:
    """Before any load report shows them, what a worker holds tips the balance."""
    loads = [WorkerLoad("1", up=True), WorkerLoad("2", up=True)]
    placed = []
    for _ in range(4):
        chosen = least_loaded(loads)
        assert chosen is not None
        placed.append(chosen)
        loads = [
            WorkerLoad(w.worker, True, meetings=w.meetings + (w.worker == chosen)) for w in loads
        ]
    assert placed == ["1", "2", "1", "2"]


def test_a_worker_that_is_down_is_chosen_only_when_none_is_up() -> None:
    down = WorkerLoad("1", up=False)
    loaded = WorkerLoad("2", up=True, cpu=0.9, meetings=30)
    assert least_loaded([down, loaded]) == "2"
    assert least_loaded([down, WorkerLoad("2", up=False, meetings=1)]) == "1"
    assert least_loaded([]) is None
