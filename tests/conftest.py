"""Shared test settings: hypothesis profile, the shared MNIST test set, and the fixtures that
run a test under every instruction-set level and thread count and count what ran.

``level``: the test runs once per level of the compiled kernels this CPU has
(``strided._algorithms._levels.available()``), shown in the test id.
``threads``: once with 2 and once with 3 threads (more than this machine's cores).
``runs``: counts, per algorithm and direction, the calls that computed something (non-empty
arrays); a test states the share of its draws each algorithm must have run on
(``runs.expect``), checked when the test ends, so that a refusal never passes silently.
"""

from __future__ import annotations

import functools
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

import strided
from strided._algorithms import ALGORITHMS, _levels

# function_scoped_fixture: ``level``, ``threads`` and ``runs`` hold for every example of a test
settings.register_profile(
    "default", max_examples=60, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                           HealthCheck.function_scoped_fixture],
)
settings.load_profile("default")

SHARED_MNIST = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"

DIRECTIONS = ("forward", "grad_input", "grad_weight")
LEVELS = _levels.available()


@pytest.fixture(params=LEVELS)
def level(request: pytest.FixtureRequest) -> Iterator[str]:
    """The compiled kernels run at this level for the whole test."""
    with _levels.using(request.param):
        assert strided.instruction_set() == request.param
        yield request.param


@pytest.fixture(params=[2, 3])
def threads(request: pytest.FixtureRequest) -> Iterator[int]:
    """``strided.set_num_threads(n)`` for the whole test, restored afterwards."""
    saved = strided.get_num_threads()
    strided.set_num_threads(request.param)
    try:
        yield request.param
    finally:
        strided.set_num_threads(saved)


class Runs:
    """Calls of each algorithm's functions on non-empty arrays, against the test's draws.

    Only outermost calls count (an algorithm's input gradient may call its own forward pass).
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.draws = 0
        self.calls: Counter[tuple[str, str]] = Counter()
        self.expected: list[tuple[str, str, float]] = []
        self._depth = threading.local()
        self._lock = threading.Lock()
        for name, module in ALGORITHMS.items():
            for direction in DIRECTIONS:
                # and its channels-first twin (``_pointwise.forward_planar``), as the same pass
                for function in (direction, f"{direction}_planar"):
                    if hasattr(module, function):
                        monkeypatch.setattr(module, function, self._counting(
                            name, direction, getattr(module, function)))

    def _counting(self, name: str, direction: str, function: Callable) -> Callable:
        @functools.wraps(function)
        def counted(a, b, spec, *args, **kwargs):
            depth = getattr(self._depth, "value", 0)
            if depth == 0 and a.size and b.size:
                with self._lock:
                    self.calls[name, direction] += 1
            self._depth.value = depth + 1
            try:
                return function(a, b, spec, *args, **kwargs)
            finally:
                self._depth.value = depth
        return counted

    def draw(self) -> None:
        """One more drawn case."""
        self.draws += 1

    def expect(self, name: str, share: float, directions: tuple[str, ...] = DIRECTIONS) -> None:
        """``name`` must compute each of ``directions`` on at least ``share`` of the draws."""
        self.expected += [(name, direction, share) for direction in directions]

    def check(self) -> None:
        assert self.draws > 0, "the test drew no case"
        for name, direction, share in self.expected:
            ran = self.calls[name, direction]
            assert ran >= share * self.draws, (
                f"{name}.{direction} computed on {ran} of {self.draws} draws; the test "
                f"expects at least {share:.0%}")


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> Iterator[Runs]:
    counter = Runs(monkeypatch)
    yield counter
    counter.check()
