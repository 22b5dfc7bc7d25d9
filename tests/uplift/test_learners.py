from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.uplift.conftest import CONTROL, make_frame, true_uplift
from uplift import (
    LEARNERS,
    InvalidUpliftOptionError,
    MissingFeaturesError,
    ModelStoreError,
    NotFittedError,
    OverlapWarning,
    UpliftData,
    UpliftModel,
    evaluate_model,
    fit_uplift_model,
    prediction_columns,
)
from uplift.learners import uplift_frame

FAST = {"n_estimators": 15, "num_leaves": 15}


@pytest.fixture(scope="module")
def small():
    frame = make_frame(1500, seed=3)
    return frame, UpliftData.from_frame(
        frame, treatment_col="arm", control=CONTROL, outcome_col="y"
    )


@pytest.mark.parametrize("learner", LEARNERS)
def test_every_learner_has_the_same_output_shape(small, learner):
    frame, data = small
    model = UpliftModel(learner, seed=2, **FAST).fit(data)
    scoring = frame.drop(columns=["y", "arm"]).iloc[::-1]  # any order, extra index kept
    pred = model.predict(scoring)
    assert list(pred.columns) == ["uplift_A", "uplift_B", "best_arm", "best_uplift"]
    assert list(pred.columns) == model.prediction_columns == prediction_columns(("A", "B"))
    assert pred.index.equals(scoring.index)
    assert pred["uplift_A"].dtype == np.float64 and pred["best_uplift"].dtype == np.float64
    assert np.isfinite(pred[["uplift_A", "uplift_B"]].to_numpy()).all()
    u = pred[["uplift_A", "uplift_B"]].to_numpy()
    none_positive = (u <= 0).all(axis=1)
    assert (pred["best_arm"][none_positive] == CONTROL).all()
    assert (pred["best_uplift"][none_positive] == 0).all()
    assert np.allclose(pred["best_uplift"][~none_positive], u.max(axis=1)[~none_positive])
    assert set(pred["best_arm"]) <= {"A", "B", CONTROL}


@pytest.mark.parametrize("learner", ["s", "t", "x", "r", "dr"])
def test_continuous_outcome_learners(learner):
    frame = make_frame(900, seed=4, continuous=True)
    data = UpliftData.from_frame(frame, treatment_col="arm", control=CONTROL, outcome_col="spend")
    model = UpliftModel(learner, **FAST).fit(data)
    assert model.outcome_type_ == "continuous"
    assert model.predict(frame).shape == (900, 4)


def test_uplift_rf_refuses_continuous_outcome():
    frame = make_frame(300, seed=4, continuous=True)
    data = UpliftData.from_frame(frame, treatment_col="arm", control=CONTROL, outcome_col="spend")
    with pytest.raises(InvalidUpliftOptionError, match=r"'uplift_rf' .* binary outcomes only"):
        UpliftModel("uplift_rf").fit(data)
    with pytest.raises(InvalidUpliftOptionError, match="unknown learner 'q'"):
        UpliftModel("q").fit(data)


def test_t_learner_recovers_known_uplift(data, frame, fitted_t):
    pred = fitted_t.predict(frame)
    truth = true_uplift(frame)
    assert np.corrcoef(pred["uplift_A"], truth["A"])[0, 1] > 0.4
    assert np.corrcoef(pred["uplift_B"], truth["B"])[0, 1] > 0.3
    test_frame = make_frame(3000, seed=9)
    test = UpliftData.from_frame(test_frame, treatment_col="arm", control=CONTROL, outcome_col="y")
    ev = evaluate_model(fitted_t, test, n_bootstrap=100)
    assert ev.arms["A"].intervals["qini"][0] > 0
    assert ev.value("A", "uplift@30%") > ev.arms["A"].baselines["uplift@30%"]


@pytest.mark.parametrize("learner", ["t", "r", "dr"])
def test_same_seed_same_predictions(small, learner):
    frame, data = small
    a = UpliftModel(learner, seed=7, **FAST).fit(data).predict(frame)
    b = UpliftModel(learner, seed=7, **FAST).fit(data).predict(frame)
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize("learner", LEARNERS)
def test_save_load_round_trip(tmp_path, small, learner):
    frame, data = small
    model = UpliftModel(learner, seed=5, **FAST).fit(data)
    model.save(tmp_path / "m", extra={"note": "abc"})
    names = sorted(p.name for p in (tmp_path / "m").iterdir())
    if learner == "uplift_rf":  # the only pickle: a causalml object
        assert names == ["metadata.json", "uplift_forest.joblib"]
    else:  # LightGBM model text and JSON: nothing to unpickle
        assert "metadata.json" in names and all(
            n.startswith("lgbm-") and n.endswith(".txt") for n in names if n != "metadata.json"
        )
    loaded = UpliftModel.load(tmp_path / "m")
    expected = model.predict(frame)
    pd.testing.assert_frame_equal(loaded.predict(frame), expected, check_exact=True)
    # the booster path without the compiled scorer gives the same numbers as causalml
    loaded._compiled_scoring = False
    pd.testing.assert_frame_equal(loaded.predict(frame), expected, check_exact=True)
    meta = json.loads((tmp_path / "m" / "metadata.json").read_text())
    assert meta["arms"] == ["A", "B"] and meta["control"] == CONTROL
    assert meta["learner"] == learner and meta["seed"] == 5
    assert meta["prediction_columns"] == ["uplift_A", "uplift_B", "best_arm", "best_uplift"]
    region = next(f for f in meta["schema"]["features"] if f["name"] == "region")
    assert region == {
        "name": "region",
        "kind": "categorical",
        "dtype": str(frame["region"].dtype),
        "categories": ["east", "north", "south"],
    }
    assert {"causalml", "lightgbm", "numpy", "pandas"} <= set(meta["versions"])
    assert meta["extra"] == {"note": "abc"}
    assert loaded.get_params() == model.get_params()


def test_observational_model_round_trip_saves_the_propensity_models_as_text(tmp_path, small):
    frame, _ = small
    data = UpliftData.from_frame(
        frame, treatment_col="arm", control=CONTROL, outcome_col="y", randomized=False
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OverlapWarning)
        model = UpliftModel("x", seed=1, **FAST).fit(data)
    model.save(tmp_path / "m")
    assert {"propensity-0.txt", "propensity-1.txt"} <= {p.name for p in (tmp_path / "m").iterdir()}
    loaded = UpliftModel.load(tmp_path / "m")
    pd.testing.assert_frame_equal(loaded.predict(frame), model.predict(frame), check_exact=True)
    assert loaded.propensity_model_.overlap_ == model.propensity_model_.overlap_


def test_load_never_unpickles_and_checks_every_file(tmp_path, small):
    _, data = small
    UpliftModel("t", **FAST).fit(data).save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "metadata.json").read_text())
    assert meta["format_version"] == 2 and set(meta["files"]) == {
        p.name for p in (tmp_path / "m").iterdir() if p.name != "metadata.json"
    }
    text = tmp_path / "m" / "lgbm-control.txt"
    original = text.read_bytes()
    text.write_bytes(original[: len(original) // 2])  # truncated
    with pytest.raises(ModelStoreError, match=r"lgbm-control.txt' does not match the SHA-256"):
        UpliftModel.load(tmp_path / "m")
    text.unlink()
    with pytest.raises(ModelStoreError, match=r"cannot read model file .*lgbm-control.txt"):
        UpliftModel.load(tmp_path / "m")
    # a file the metadata does not list is never opened, e.g. a planted path outside
    text.write_bytes(original)
    meta["model_files"]["learner"]["model_c"] = "../evil.txt"
    (tmp_path / "m" / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ModelStoreError, match=r"refers to '../evil.txt'"):
        UpliftModel.load(tmp_path / "m")


def test_uplift_forest_pickle_is_refused_when_its_hash_differs(tmp_path, small):
    import pickle

    _, data = small
    UpliftModel("uplift_rf", **FAST).fit(data).save(tmp_path / "m")
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (tmp_path / "m" / "uplift_forest.joblib").write_bytes(pickle.dumps(Payload()))
    with pytest.raises(ModelStoreError, match=r"uplift_forest\.joblib' does not match the SHA-256"):
        UpliftModel.load(tmp_path / "m")
    assert not marker.exists()


def _saved_with_format_version(model: UpliftModel, path: Path, version: int) -> Path:
    """``model`` saved to ``path`` with ``version`` written over its metadata's format version."""
    model.save(path)
    meta = json.loads((path / "metadata.json").read_text())
    meta["format_version"] = version
    (path / "metadata.json").write_text(json.dumps(meta))
    return path


def test_version_1_pickle_directories_are_refused(tmp_path, fitted_t):
    saved = _saved_with_format_version(fitted_t, tmp_path / "m", 1)
    with pytest.raises(ModelStoreError, match="no longer loads because unpickling can run code"):
        UpliftModel.load(saved)


def test_a_constant_outcome_is_refused_and_constant_features_flagged(small):
    from uplift import InvalidUpliftDataError, UpliftWarning

    frame, _ = small
    flat = UpliftData.from_frame(
        frame.assign(y=1), treatment_col="arm", control=CONTROL, outcome_col="y"
    )
    with pytest.raises(InvalidUpliftDataError, match=r"'y' has the single value 1.0 in all 1500"):
        UpliftModel("t", **FAST).fit(flat)
    same = UpliftData.from_frame(
        frame.assign(x2=0.5), treatment_col="arm", control=CONTROL, outcome_col="y"
    )
    with pytest.warns(UpliftWarning, match=r"feature\(s\) 'x2' have a single value.*drop them"):
        UpliftModel("t", **FAST).fit(same)
    nothing = UpliftData.from_frame(
        frame.assign(x1=1.0, x2=0.5, region="east"),
        treatment_col="arm",
        control=CONTROL,
        outcome_col="y",
    )
    with pytest.warns(UpliftWarning, match=r"every customer gets the same predicted uplift"):
        UpliftModel("t", **FAST).fit(nothing)


def test_load_errors(tmp_path, fitted_t):
    with pytest.raises(ModelStoreError, match="is not a saved uplift model directory"):
        UpliftModel.load(tmp_path / "missing")
    saved = _saved_with_format_version(fitted_t, tmp_path / "m", 99)
    with pytest.raises(ModelStoreError, match="version 99"):
        UpliftModel.load(saved)


def test_scoring_validation(frame, fitted_t):
    with pytest.raises(MissingFeaturesError, match=r"lacks 2 feature column\(s\).*'x2', 'region'"):
        fitted_t.predict(frame[["x1"]])
    with pytest.raises(NotFittedError, match="not fitted"):
        UpliftModel().predict(frame)
    # unseen and missing categories are both "missing" for the model
    unseen = frame.head(20).assign(region="atlantis")
    missing = frame.head(20).assign(region=None)
    pd.testing.assert_frame_equal(fitted_t.predict(unseen), fitted_t.predict(missing))
    assert fitted_t.predict(frame.head(0)).shape == (0, 4)


def test_uplift_frame_best_arm_rules():
    te = np.array([[0.1, 0.3], [-0.1, -0.2], [0.2, 0.2], [0.0, 0.0]])
    out = uplift_frame(te, ("A", "B"), "none")
    assert out["best_arm"].tolist() == ["B", "none", "A", "none"]  # ties -> first arm
    assert out["best_uplift"].tolist() == [0.3, 0.0, 0.2, 0.0]


def test_observational_data_estimates_propensity_and_warns_on_overlap():
    rng = np.random.default_rng(11)
    n = 1500
    x1 = rng.normal(size=n)
    treated = rng.random(n) < 1 / (1 + np.exp(-6 * x1))  # strongly confounded
    frame = pd.DataFrame(
        {
            "x1": x1,
            "x2": rng.normal(size=n),
            "arm": np.where(treated, "A", CONTROL),
            "y": (rng.random(n) < 0.3 + 0.1 * treated).astype(int),
        }
    )
    data = UpliftData.from_frame(
        frame, treatment_col="arm", control=CONTROL, outcome_col="y", randomized=False
    )
    with pytest.warns(OverlapWarning, match="poor overlap for arm 'A'"):
        model = fit_uplift_model(data, "x", n_estimators=50)
    assert model.propensity_model_ is not None
    assert model.metadata_["propensity"]["mode"] == "estimated"
    assert model.predict(frame).shape == (n, 3)
    # the same data declared randomized uses the constant share and does not warn
    rct = UpliftData.from_frame(frame, treatment_col="arm", control=CONTROL, outcome_col="y")
    with warnings.catch_warnings():
        warnings.simplefilter("error", OverlapWarning)
        m2 = fit_uplift_model(rct, "x", **FAST)
    assert m2.propensity_ == pytest.approx({"A": treated.mean()})
    # learners that do not use the propensity still get the overlap check
    with pytest.warns(OverlapWarning, match="poor overlap for arm 'A'"):
        t_model = fit_uplift_model(data, "t", n_estimators=50)
    assert t_model.metadata_["propensity"]["overlap_outside_share"]["A"] > 0.01


def test_progress_and_repr(small):
    _, data = small
    messages: list[str] = []
    model = UpliftModel("t", **FAST).fit(data, progress=messages.append)
    assert any("fitting BaseTClassifier" in m for m in messages)
    assert messages[-1].endswith("done")
    assert "arms=['A', 'B']" in repr(model)
    assert "unfitted" in repr(UpliftModel())


@pytest.mark.parametrize("outcome", ["y", "spend"])
def test_dr_fast_predict_equals_causalml_predict(outcome):
    frame = make_frame(900, seed=6, continuous=outcome == "spend")
    data = UpliftData.from_frame(frame, treatment_col="arm", control=CONTROL, outcome_col=outcome)
    model = UpliftModel("dr", **FAST).fit(data)
    X = data.schema.transform(frame)
    expected = model.learner_.predict(X, verbose=False)
    np.testing.assert_allclose(model.predict_uplift(frame), expected, rtol=1e-12, atol=1e-12)
