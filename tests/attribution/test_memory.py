"""NumPy's huge-page hint is off inside ``small_pages`` and restored after it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from attribution import Journeys
from attribution._memory import _hugepage_switch, small_pages

SWITCH = _hugepage_switch()
pytestmark = pytest.mark.skipif(SWITCH is None, reason="this NumPy has no huge-page switch")


def hint() -> bool:
    """The current setting, read without changing it."""
    current = bool(SWITCH(True))
    SWITCH(current)
    return current


@pytest.fixture(autouse=True)
def _restore(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("NUMPY_MADVISE_HUGEPAGE", raising=False)
    before = hint()
    yield
    SWITCH(before)


@pytest.mark.parametrize("before", [True, False])
def test_small_pages_turns_the_hint_off_and_restores_it(before: bool) -> None:
    SWITCH(before)
    with small_pages():
        assert hint() is False
        np.ones(1 << 20)
    assert hint() is before


def test_small_pages_restores_the_hint_after_an_error() -> None:
    SWITCH(True)
    with pytest.raises(RuntimeError, match="boom"), small_pages():
        raise RuntimeError("boom")
    assert hint() is True


def test_the_environment_variable_takes_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    SWITCH(True)
    monkeypatch.setenv("NUMPY_MADVISE_HUGEPAGE", "1")
    with small_pages():
        assert hint() is True


def test_reading_paths_and_fitting_markov_run_without_the_hint_and_restore_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import attribution.journeys
    import attribution.markov
    from attribution.markov import MarkovAttribution

    seen: dict[str, bool] = {}

    def observed(module: object, name: str) -> None:
        real = getattr(module, name)

        def call(*args: object, **kwargs: object) -> object:
            seen[name] = hint()
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, call)

    observed(attribution.journeys, "read_path_table")
    observed(attribution.markov, "_build_structure")
    csv = tmp_path / "paths.csv"
    csv.write_text("path,total_conversions,total_null\nA > B,1,0\nB,0,1\nA,1,1\n")
    SWITCH(True)
    journeys = Journeys.from_paths(csv)
    assert hint() is True
    model = MarkovAttribution(n_bootstrap=0).fit(journeys)
    assert hint() is True
    assert seen == {"read_path_table": False, "_build_structure": False}
    np.testing.assert_allclose(model.result_.conversions, [1.2, 0.8])
