"""One name per concept across attribution and uplift, and the former names for one release.

``seed`` (not ``random_state``), ``ci`` (not ``ci_level`` / ``level``), one
:class:`~attribution.errors.NotFittedError` and one progress style, ``progress(message)``.
"""

from __future__ import annotations

import inspect
import warnings

import pandas as pd
import pytest

import uplift
import uplift.errors
from attribution import Journeys, MarkovAttribution, select_order
from attribution.base import AttributionModel
from attribution.calibration import Calibrator
from attribution.catalog import MODEL_NAMES, model_class
from attribution.errors import NotFittedError
from uplift import UpliftModel

BOOTSTRAP = ("n_bootstrap", "ci", "bootstrap_method", "seed")


@pytest.fixture(scope="module")
def journeys() -> Journeys:
    return Journeys.from_sequences(
        [["A", "B"], ["B"], ["A"], ["B", "A", "C"], ["C"]],
        [3, 1, 2, 2, 1],
        [1, 4, 2, 1, 3],
        [30.0, 10.0, 20.0, 20.0, 10.0],
    )


# ----------------------------------------------------------------------------- parameters


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_every_model_takes_the_bootstrap_parameters_from_the_shared_base(name):
    cls = model_class(name)
    for klass in cls.__mro__[: cls.__mro__.index(AttributionModel)]:
        if "__init__" in vars(klass):
            own = inspect.signature(vars(klass)["__init__"]).parameters
            assert not set(BOOTSTRAP) & set(own), f"{klass.__name__} repeats them"
    params = cls().get_params()
    assert list(params)[-4:] == list(BOOTSTRAP)
    assert params["ci"] == 0.95 and params["seed"] == 0 and params["n_bootstrap"] == 200
    assert "ci_level" not in params and "random_state" not in params


def test_uplift_uses_the_same_names():
    assert "seed" in inspect.signature(UpliftModel).parameters
    assert {"ci", "seed"} <= set(inspect.signature(uplift.evaluate_uplift).parameters)
    assert {"ci", "seed"} <= set(inspect.signature(uplift.evaluate_targeting).parameters)


def test_former_model_parameter_names_work_for_one_release_with_a_warning(journeys):
    with pytest.warns(DeprecationWarning) as caught:
        old = MarkovAttribution(n_bootstrap=40, ci_level=0.9, random_state=3)
    assert sorted(str(w.message) for w in caught) == [
        "MarkovAttribution: 'ci_level' is deprecated and will be removed in the next release; "
        "use 'ci'",
        "MarkovAttribution: 'random_state' is deprecated and will be removed in the next "
        "release; use 'seed'",
    ]
    assert {w.filename for w in caught} == {__file__}  # points at the caller
    new = MarkovAttribution(n_bootstrap=40, ci=0.9, seed=3)
    assert old.get_params() == new.get_params()
    pd.testing.assert_frame_equal(
        old.fit(journeys).result_.to_frame(), new.fit(journeys).result_.to_frame()
    )
    with pytest.warns(DeprecationWarning, match="'random_state' is deprecated"):
        assert new.random_state == 3
    with pytest.warns(DeprecationWarning, match="'ci_level' is deprecated"):
        new.ci_level = 0.8
    assert new.ci == 0.8
    with pytest.raises(TypeError, match="unexpected keyword argument 'ci_lvl'"):
        MarkovAttribution(ci_lvl=0.9)


def test_former_names_of_select_order_and_calibrator(journeys):
    with pytest.warns(DeprecationWarning, match="select_order: 'random_state' is deprecated"):
        old = select_order(journeys, orders=(1, 2), random_state=5)
    assert old.to_dict() == select_order(journeys, orders=(1, 2), seed=5).to_dict()
    with pytest.warns(DeprecationWarning, match="Calibrator: 'level' is deprecated.*'ci'"):
        calibrator = Calibrator(level=0.9)
    assert calibrator.ci == 0.9


def test_a_subclass_setting_the_former_attributes_still_fits(journeys):
    class Legacy(AttributionModel):
        name = "legacy"

        def __init__(self) -> None:
            self.n_bootstrap = 0
            self.ci_level = 0.95
            self.bootstrap_method = "poisson"
            self.random_state = 0

        def _prepare(self, journeys):
            return None

        def _credit(self, prepared, conversions, nulls, value):
            from attribution.heuristics import LastTouch

            return LastTouch(n_bootstrap=0)._credit(
                LastTouch()._prepare(journeys), conversions, nulls, value
            )

    with pytest.warns(DeprecationWarning):
        model = Legacy()
    expected = {"n_bootstrap": 0, "ci": 0.95, "bootstrap_method": "poisson", "seed": 0}
    assert model.get_params() == expected
    assert model.fit(journeys).result_.conversions.sum() == pytest.approx(9.0)


# ----------------------------------------------------------------------------- errors


def test_one_not_fitted_error_for_both_packages(journeys):
    with pytest.raises(NotFittedError, match="MarkovAttribution is not fitted yet"):
        MarkovAttribution().attribute(journeys)
    with pytest.raises(NotFittedError, match="not fitted"):
        UpliftModel().predict(pd.DataFrame({"x": [1.0]}))
    assert issubclass(NotFittedError, ValueError) and issubclass(NotFittedError, AttributeError)
    assert uplift.NotFittedError is uplift.errors.NotFittedError is NotFittedError
    with pytest.warns(DeprecationWarning, match="'ModelNotFittedError' is deprecated"):
        assert uplift.errors.ModelNotFittedError is NotFittedError
    with pytest.warns(DeprecationWarning, match="'ModelNotFittedError' is deprecated"):
        assert uplift.ModelNotFittedError is NotFittedError


# ----------------------------------------------------------------------------- progress


def test_progress_is_a_message_every_ten_percent(journeys):
    messages: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        MarkovAttribution(n_bootstrap=200).fit(journeys, progress=messages.append)
    # replicates are computed in chunks: a message when a chunk crosses a 10% step, and at the end
    counts = [int(m.removeprefix("bootstrap ").split("/")[0]) for m in messages]
    assert all(m.endswith("/200") for m in messages), messages
    assert counts == sorted(set(counts)) and counts[-1] == 200
    assert 1 <= len(messages) <= 11
    steps = [10 * k // 200 for k in counts]
    assert steps == sorted(set(steps))  # at most one message per 10% step


def test_a_done_total_progress_callback_works_for_one_release(journeys):
    calls: list[tuple[int, int]] = []
    with pytest.warns(DeprecationWarning, match=r"'progress\(done, total\)' is deprecated"):
        MarkovAttribution(n_bootstrap=20).fit(journeys, progress=lambda d, t: calls.append((d, t)))
    # the old callback is called as before: (done, total) after each chunk, done increasing to total
    assert calls and all(t == 20 for _, t in calls) and calls[-1] == (20, 20)
    assert [d for d, _ in calls] == sorted({d for d, _ in calls})
