from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.uplift.conftest import CONTROL, make_frame
from uplift import (
    FeatureSchema,
    InvalidUpliftDataError,
    InvalidUpliftOptionError,
    MissingFeaturesError,
    UpliftData,
    load_uplift_data,
    split_positions,
)


def build(frame, **kw):
    args = {"treatment_col": "arm", "control": CONTROL, "outcome_col": "y"}
    args.update(kw)
    return UpliftData.from_frame(frame, **args)


def test_from_frame_infers_arms_types_and_features(frame):
    d = build(frame)
    assert d.arms == ("A", "B")
    assert d.control == "ctl"
    assert d.outcome_type == "binary"
    assert d.schema.names == ("x1", "x2", "region")
    assert d.schema.kinds == ("numeric", "numeric", "categorical")
    assert d.schema.categories["region"] == ("east", "north", "south")
    counts = d.arm_counts()
    assert list(counts) == ["ctl", "A", "B"]
    assert sum(counts.values()) == len(frame) == len(d)
    assert "n=3000" in repr(d)


def test_continuous_outcome_auto():
    d = UpliftData.from_frame(
        make_frame(300, continuous=True), treatment_col="arm", control=CONTROL, outcome_col="spend"
    )
    assert d.outcome_type == "continuous"


def test_missing_control_is_named(frame):
    with pytest.raises(
        InvalidUpliftDataError, match=r"control arm 'nope' not found.*'A', 'B', 'ctl'"
    ):
        build(frame, control="nope")


def test_arm_with_too_few_rows(frame):
    small = pd.concat([frame, frame.iloc[:3].assign(arm="C")], ignore_index=True)
    with pytest.raises(InvalidUpliftDataError, match=r"arm 'C' .* has 3 row\(s\), fewer than"):
        build(small)


def test_nan_treatment_names_first_row(frame):
    bad = frame.copy()
    bad["arm"] = bad["arm"].astype(object)
    bad.loc[7, "arm"] = None
    bad.loc[9, "arm"] = None
    with pytest.raises(InvalidUpliftDataError, match=r"2 missing value\(s\), first at row 7"):
        build(bad)


@pytest.mark.parametrize(
    ("dtype", "row", "value", "message"),
    [
        pytest.param(
            float,
            11,
            np.nan,
            r"outcome column 'y' has 1 missing values at row 11 \(position 11\);",
            id="nan-names-first-row",
        ),
        pytest.param(
            object,
            4,
            "yes",
            r"outcome column 'y' has 1 non-numeric values, first 'yes' at row 4 \(position 4\);",
            id="text-names-the-value",
        ),
    ],
)
def test_bad_outcome_value_is_named_with_its_row(frame, dtype, row, value, message):
    bad = frame.copy()
    bad["y"] = bad["y"].astype(dtype)
    bad.loc[row, "y"] = value
    with pytest.raises(InvalidUpliftDataError, match=message):
        build(bad)


def test_non_binary_outcome_for_binary(frame):
    bad = frame.copy()
    bad.loc[5, "y"] = 2
    with pytest.raises(InvalidUpliftDataError, match=r"must be binary .* holds 2.0 at row 5"):
        build(bad, outcome_type="binary")
    assert build(bad).outcome_type == "continuous"


def test_missing_columns(frame):
    with pytest.raises(
        InvalidUpliftDataError, match=r"required column 'segment' is missing.*treatment_col="
    ):
        build(frame, treatment_col="segment")
    with pytest.raises(
        InvalidUpliftDataError, match=r"required column 'zz' is missing.*feature_cols="
    ):
        build(frame, feature_cols=["x1", "zz"])
    with pytest.raises(InvalidUpliftDataError, match="no feature columns"):
        build(frame[["arm", "y"]])


def test_known_assignment_probabilities(frame):
    d = build(frame, propensity={"A": 0.25, "B": 0.25})
    assert d.assignment_probabilities == {"A": 0.25, "B": 0.25, "ctl": 0.5}
    assert d.pairwise_propensity() == pytest.approx({"A": 1 / 3, "B": 1 / 3})
    observed = build(frame).pairwise_propensity()
    c = build(frame).arm_counts()
    assert observed["A"] == pytest.approx(c["A"] / (c["A"] + c["ctl"]))
    with pytest.raises(InvalidUpliftOptionError, match="sum to 1"):
        build(frame, propensity={"A": 0.5, "B": 0.4, "ctl": 0.3})
    with pytest.raises(InvalidUpliftOptionError, match=r"missing for arm\(s\) \['B'\]"):
        build(frame, propensity={"A": 0.5})


def test_schema_transform_unseen_and_missing(frame):
    schema = FeatureSchema.from_frame(frame, ["x1", "region"])
    new = pd.DataFrame({"x1": [1.0, None], "region": ["north", "mars"]})
    X = schema.transform(new)
    assert X[0, 1] == schema.categories["region"].index("north")
    assert np.isnan(X[1, 1]) and np.isnan(X[1, 0])
    with pytest.raises(MissingFeaturesError, match=r"lacks 2 feature column\(s\).*'x1', 'region'"):
        schema.transform(pd.DataFrame({"other": [1]}))
    with pytest.raises(InvalidUpliftDataError, match=r"'x1' was numeric .* 'abc' at row 1"):
        schema.transform(pd.DataFrame({"x1": ["1.5", "abc"], "region": ["east", "east"]}))
    assert FeatureSchema.from_dict(schema.to_dict()) == schema


def test_split_positions_stratified_and_reproducible(frame):
    t = frame["arm"].to_numpy()
    train, test = split_positions(t, test_size=0.3, seed=4)
    assert np.intersect1d(train, test).size == 0
    assert train.size + test.size == len(t)
    for arm in ("ctl", "A", "B"):
        assert (t[test] == arm).sum() == round(0.3 * (t == arm).sum())
    again = split_positions(t, test_size=0.3, seed=4)[1]
    np.testing.assert_array_equal(test, again)
    with pytest.raises(InvalidUpliftOptionError, match="test_size"):
        split_positions(t, test_size=1.5)


def test_load_csv_and_parquet(tmp_path, frame):
    frame.to_csv(tmp_path / "d.csv", index=False)
    frame.to_parquet(tmp_path / "d.parquet")
    for name in ("d.csv", "d.parquet"):
        d = load_uplift_data(tmp_path / name, treatment_col="arm", control=CONTROL, outcome_col="y")
        assert len(d) == len(frame)
    with pytest.raises(InvalidUpliftDataError, match="does not exist"):
        load_uplift_data(tmp_path / "none.csv", treatment_col="arm", control="c", outcome_col="y")


def _rct(n: int, seed: int) -> pd.DataFrame:
    """A randomized campaign: pre-treatment x (numeric), tier (text); spend and upgraded are
    changed by the treatment (spend +2 on average, upgraded 'yes' 10% -> 20%)."""
    rng = np.random.default_rng(seed)
    arm = rng.choice(["ctl", "A"], n)
    treated = arm == "A"
    return pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "tier": rng.choice(["gold", "silver", "bronze"], n),
            "arm": arm,
            "y": (rng.random(n) < 0.1 + 0.05 * treated).astype(int),
            "spend": rng.exponential(10, n) + 2 * treated,
            "upgraded": np.where(rng.random(n) < np.where(treated, 0.2, 0.1), "yes", "no"),
        }
    )


def test_default_features_leave_out_post_treatment_columns():
    from uplift.data import default_feature_columns
    from uplift.errors import PostTreatmentWarning

    frame = _rct(6000, seed=3)
    default = default_feature_columns(frame, treatment_col="arm", outcome_col="y")
    assert default.features == ["x", "tier"]
    assert list(default.post_treatment) == ["spend", "upgraded"]
    assert all(p < 1e-6 for p in default.post_treatment.values())
    with pytest.warns(PostTreatmentWarning, match=r"'spend' \(p = .*'upgraded'.*--feature-cols"):
        data = UpliftData.from_frame(frame, treatment_col="arm", control="ctl", outcome_col="y")
    assert data.schema.names == ("x", "tier")
    # chosen explicitly, a column is used as given; without randomization nothing is left out
    explicit = UpliftData.from_frame(
        frame, treatment_col="arm", control="ctl", outcome_col="y", feature_cols=["x", "spend"]
    )
    assert explicit.schema.names == ("x", "spend")
    observational = default_feature_columns(
        frame, treatment_col="arm", outcome_col="y", randomized=False
    )
    assert observational.features == ["x", "tier", "spend", "upgraded"]
    assert observational.warning() is None


@pytest.mark.parametrize("seed", range(20))
def test_randomized_pre_treatment_columns_are_kept(seed):
    # seeds 0-19: columns independent of the arm are never taken for post-treatment
    from uplift.data import default_feature_columns

    frame = _rct(3000, seed=100 + seed).drop(columns=["spend", "upgraded"])
    assert default_feature_columns(frame, treatment_col="arm", outcome_col="y").features == [
        "x",
        "tier",
    ]
