"""Learner selection by cross-fitted held-out value, and the training pipeline."""

from __future__ import annotations

import numpy as np
import pytest

from tests.uplift.conftest import make_frame
from uplift import InvalidUpliftOptionError, UpliftData
from uplift.crossfit import fold_ids
from uplift.metrics import qini_coefficient
from uplift.selection import Candidate, default_candidates, select_learner
from uplift.workflow import train_and_evaluate

GOOD = Candidate("good", "t", {"n_estimators": 40, "num_leaves": 7, "min_child_samples": 50})
#: one stump with a huge leaf size: nearly constant predictions, no ranking
FLAT = Candidate("flat", "t", {"n_estimators": 1, "num_leaves": 2, "min_child_samples": 4000})


@pytest.fixture(scope="module")
def sim_data():
    return UpliftData.from_frame(
        make_frame(6000, seed=11), treatment_col="arm", control="ctl", outcome_col="y"
    )


def test_default_candidates():
    binary = default_candidates("binary")
    assert [c.name for c in binary] == [
        "s_1", "s_2", "t_1", "t_2", "x_1", "x_2", "dr_1", "dr_2", "r_1", "r_2", "uplift_rf",
    ]  # fmt: skip
    assert binary[2].params["num_leaves"] == 15 and binary[3].params["num_leaves"] == 31
    assert [c.name for c in default_candidates("continuous", learners=["t", "uplift_rf"])] == [
        "t_1",
        "t_2",
    ]
    with pytest.raises(InvalidUpliftOptionError, match=r"unknown learner\(s\) \['q'\]"):
        default_candidates("binary", learners=["q"])
    with pytest.raises(InvalidUpliftOptionError, match="no candidate learner"):
        default_candidates("continuous", learners=["uplift_rf"])


def test_selection_picks_the_informative_candidate_and_scores_folds_exactly(sim_data):
    sel = select_learner(sim_data, candidates=[FLAT, GOOD], n_folds=3, seed=4, prune=False)
    assert sel.best.name == "good" and sel.metric == "qini"
    table = sel.table.set_index("candidate")
    assert table.loc["good", "chosen"] and not table.loc["flat", "chosen"]
    assert table.loc["good", "value"] > table.loc["flat", "value"]
    # the fold value is the mean over arms of the Qini coefficient of the fold model on its fold
    folds = fold_ids(sim_data.treatment, n_folds=3, seed=4)
    assert np.array_equal(sel.crossfit.folds, folds)
    held = np.flatnonzero(folds == 1)
    fold = sim_data.subset(held)
    u = sel.crossfit.models[1].predict_uplift(fold.features)
    expected = np.mean(
        [
            qini_coefficient(
                u[(fold.treatment == a) | (fold.treatment == "ctl"), j],
                fold.outcome[(fold.treatment == a) | (fold.treatment == "ctl")],
                fold.treatment[(fold.treatment == a) | (fold.treatment == "ctl")] == a,
            )
            for j, a in enumerate(sim_data.arms)
        ]
    )
    assert table.loc["good", "fold_2"] == pytest.approx(expected)
    assert table.loc["good", "value"] == pytest.approx(
        table.loc["good", ["fold_1", "fold_2", "fold_3"]].mean()
    )
    # the chosen candidate's out-of-fold predictions are those of its fold models
    assert np.allclose(sel.crossfit.oof[held], u)
    assert "chose 'good'" in repr(sel) and sel.to_dict()["chosen"]["candidate"] == "good"


def test_pruning_keeps_the_better_half_after_the_first_fold(sim_data):
    cands = [
        FLAT,
        GOOD,
        Candidate("flat2", "s", {"n_estimators": 1, "num_leaves": 2, "min_child_samples": 4000}),
        Candidate("good2", "t", {"n_estimators": 30, "num_leaves": 5, "min_child_samples": 80}),
    ]
    sel = select_learner(sim_data, candidates=cands, n_folds=2, seed=0)
    table = sel.table.set_index("candidate")
    assert int(table["pruned"].sum()) == 2
    kept = set(table.index[~table["pruned"]])
    # the kept ones are the two best on the first fold
    assert kept == set(table["fold_1"].sort_values(ascending=False).index[:2])
    assert table.loc[list(kept), "n_folds_scored"].tolist() == [2, 2]
    assert not table.loc[table["pruned"], "chosen"].any()


def test_selection_by_profit(sim_data):
    # at a cost of 1.5 per contact, contacting everyone (the flat model's average uplift is
    # about 0.14 for A) loses money; the informative model contacts the x1 > 0 customers (true
    # uplift 0.25 with A: profit 1 each)
    sel = select_learner(
        sim_data,
        candidates=[FLAT, GOOD],
        n_folds=2,
        value_per_conversion=10.0,
        cost_per_contact=1.5,
        prune=False,
    )
    table = sel.table.set_index("candidate")
    assert sel.metric == "profit" and sel.best.name == "good"
    assert table.loc["flat", "value"] < 0.1 < 0.2 < table.loc["good", "value"]
    with pytest.raises(InvalidUpliftOptionError, match="needs value_per_conversion"):
        select_learner(sim_data, candidates=[GOOD], metric="profit")
    with pytest.raises(InvalidUpliftOptionError, match="'qini' or 'profit'"):
        select_learner(sim_data, candidates=[GOOD], metric="auuc")  # type: ignore[arg-type]
    with pytest.raises(InvalidUpliftOptionError, match="unique"):
        select_learner(sim_data, candidates=[GOOD, GOOD])


def test_auto_never_reads_the_held_out_rows(sim_data):
    """Scrambling the held-out outcomes changes the evaluation, never the selection."""
    kwargs = {
        "learner": "auto",
        "candidates": [FLAT, GOOD],
        "n_folds": 2,
        "n_bootstrap": 0,
        "seed": 3,
    }
    first = train_and_evaluate(sim_data, **kwargs)
    scrambled = sim_data.outcome.copy()
    scrambled[first.test_rows] = 1.0 - scrambled[first.test_rows]
    other = UpliftData(**{**sim_data.__dict__, "outcome": scrambled})
    second = train_and_evaluate(other, **kwargs)
    assert np.array_equal(first.test_rows, second.test_rows)
    cols = ["candidate", "value", "fold_1", "fold_2"]
    assert first.selection is not None and second.selection is not None
    assert first.selection.table[cols].equals(second.selection.table[cols])
    assert first.model.calibration_ is not None
    assert first.model.calibration_.to_dict() == second.model.calibration_.to_dict()
    assert first.evaluation.value("A", "ate") != second.evaluation.value("A", "ate")
    # the chosen configuration was refitted on all training rows and calibrated
    assert first.model.metadata_["training"]["n_rows"] == len(first.train)
    assert first.model.learner == "t" and first.model.num_leaves == 7
    assert set(first.raw_calibration_error) == {"A", "B"}
    assert {"selection", "fit", "evaluate", "total"} <= set(first.seconds)


def test_fixed_learner_without_calibration(sim_data):
    result = train_and_evaluate(
        sim_data, learner="s", params={"n_estimators": 10}, calibrate=False, n_bootstrap=0
    )
    assert result.model.calibration_ is None and result.crossfit is None
    assert result.selection is None and result.raw_calibration_error == {}
    with pytest.raises(InvalidUpliftOptionError, match="unknown learner 'q'"):
        train_and_evaluate(sim_data, learner="q")
