"""The compiled LightGBM scorer (uplift._forest) against LightGBM itself, on real models."""

from __future__ import annotations

import pickle
import re
import warnings
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

import uplift._forest
from tests.numba_cache import run_without_numba_cache
from tests.uplift.conftest import CONTROL, make_frame
from uplift import UpliftData, UpliftModel
from uplift._forest import K_ZERO_THRESHOLD, LANES, CompiledForest, resolve_threads

SMALL = {"n_estimators": 40, "num_leaves": 15, "verbose": -1, "random_state": 0, "n_jobs": 1}


def _data(n: int = 4000, n_features: int = 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_features))
    logit = X[:, 0] - 0.8 * X[:, 1] * (X[:, 2] > 0) + 0.5 * np.sin(3 * X[:, 3])
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return X, y


def _missing_types(model: lgb.LGBMModel) -> set[str]:
    found: set[str] = set()
    stack = [t["tree_structure"] for t in model.booster_.dump_model()["tree_info"]]
    while stack:
        node = stack.pop()
        if "split_feature" in node:
            found.add(node["missing_type"])
            stack += [node["left_child"], node["right_child"]]
    return found


def _thresholds(model: lgb.LGBMModel) -> dict[int, np.ndarray]:
    """Split thresholds per feature, read from LightGBM's dump independently of the scorer."""
    out: dict[int, set[float]] = {}
    stack = [t["tree_structure"] for t in model.booster_.dump_model()["tree_info"]]
    while stack:
        node = stack.pop()
        if "split_feature" in node:
            out.setdefault(node["split_feature"], set()).add(node["threshold"])
            stack += [node["left_child"], node["right_child"]]
    return {j: np.array(sorted(v)) for j, v in out.items()}


def _assert_same(forest: CompiledForest, model: lgb.LGBMModel, X: np.ndarray) -> None:
    if isinstance(model, lgb.LGBMClassifier):
        expected = model.predict_proba(X)[:, 1]
    else:
        expected = model.predict(X)
    got = forest.predict(X)
    assert got.dtype == np.float64 and got.shape == (X.shape[0],)
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(forest.predict_raw(X), model.predict(X, raw_score=True))


@pytest.fixture(scope="module")
def binary_model():
    X, y = _data()
    return lgb.LGBMClassifier(**SMALL).fit(X, y), X


def test_binary_objective_is_bit_identical(binary_model):
    model, X = binary_model
    forest = CompiledForest.from_lgbm(model)
    assert forest is not None
    assert forest.objective == "binary" and forest.sigmoid == 1.0
    assert forest.n_trees == 40 and forest.n_features == X.shape[1]
    X_new, _ = _data(5000, seed=1)
    _assert_same(forest, model, X_new)
    # the probabilities are not trivially equal: they spread over (0, 1)
    p = forest.predict(X_new)
    assert p.min() < 0.2 and p.max() > 0.8


def test_regression_objective_is_bit_identical():
    X, _ = _data(3000, seed=2)
    y = X[:, 0] * 3 + np.where(X[:, 1] > 0.3, 2.0, -1.0) + 0.1 * X[:, 2]
    model = lgb.LGBMRegressor(**SMALL).fit(X, y)
    forest = CompiledForest.from_lgbm(model)
    assert forest is not None and forest.objective == "regression"
    _assert_same(forest, model, _data(4000, seed=3)[0])


def test_binary_with_sigmoid_parameter():
    X, y = _data(3000, seed=4)
    model = lgb.LGBMClassifier(**SMALL, sigmoid=0.7).fit(X, y)
    forest = CompiledForest.from_lgbm(model)
    assert forest is not None and forest.sigmoid == 0.7
    _assert_same(forest, model, X)


def test_nan_in_training_uses_default_direction():
    X, y = _data(4000, seed=5)
    rng = np.random.default_rng(5)
    X[rng.random(X.shape) < 0.15] = np.nan
    model = lgb.LGBMClassifier(**SMALL).fit(X, y)
    assert "NaN" in _missing_types(model)
    forest = CompiledForest.from_lgbm(model)
    assert forest is not None and not forest.zero_as_missing
    X_new, _ = _data(3000, seed=6)
    X_new[rng.random(X_new.shape) < 0.2] = np.nan
    X_new[:50] = np.nan  # rows with nothing but missing values
    _assert_same(forest, model, X_new)


def test_nan_only_at_predict_time_is_read_as_zero():
    model = lgb.LGBMClassifier(**SMALL).fit(*_data(3000, seed=7))
    assert _missing_types(model) == {"None"}
    forest = CompiledForest.from_lgbm(model)
    assert forest is not None
    X_new, _ = _data(3000, seed=8)
    rng = np.random.default_rng(8)
    X_new[rng.random(X_new.shape) < 0.3] = np.nan
    _assert_same(forest, model, X_new)
    # a NaN is scored like 0.0 (LightGBM's rule for missing_type None)
    zeroed = np.where(np.isnan(X_new), 0.0, X_new)
    np.testing.assert_array_equal(forest.predict(X_new), forest.predict(zeroed))


def test_zero_as_missing():
    X, y = _data(4000, seed=9)
    rng = np.random.default_rng(9)
    X[rng.random(X.shape) < 0.2] = 0.0
    X[rng.random(X.shape) < 0.05] = np.nan
    model = lgb.LGBMClassifier(**SMALL, zero_as_missing=True).fit(X, y)
    assert "Zero" in _missing_types(model)
    forest = CompiledForest.from_lgbm(model)
    assert forest is not None and forest.zero_as_missing
    X_new, _ = _data(3000, seed=10)
    X_new[rng.random(X_new.shape) < 0.2] = 0.0
    X_new[rng.random(X_new.shape) < 0.1] = np.nan
    X_new[rng.random(X_new.shape) < 0.05] = -0.0
    X_new[rng.random(X_new.shape) < 0.05] = 1e-36  # LightGBM reads |x| <= 1e-35f as zero
    _assert_same(forest, model, X_new)


def test_values_at_thresholds_and_their_neighbours(binary_model):
    model, _ = binary_model
    forest = CompiledForest.from_lgbm(model)
    assert forest is not None
    thresholds = _thresholds(model)
    assert thresholds, "the model has splits"
    rng = np.random.default_rng(11)
    n_features = forest.n_features
    blocks = []
    for j, thr in thresholds.items():
        for values in (thr, np.nextafter(thr, -np.inf), np.nextafter(thr, np.inf)):
            rows = rng.normal(size=(len(values), n_features))
            rows[:, j] = values
            blocks.append(rows)
    # every feature at one of its own thresholds at once, many random combinations
    combo = np.column_stack(
        [rng.choice(thresholds.get(j, np.zeros(1)), size=2000) for j in range(n_features)]
    )
    blocks.append(combo)
    X = np.vstack(blocks)
    _assert_same(forest, model, X)
    # the exact threshold goes left, its next float up goes right: the two must differ somewhere
    j, thr = next(iter(thresholds.items()))
    at = np.repeat(combo[:1], len(thr), axis=0)
    at[:, j] = thr
    above = at.copy()
    above[:, j] = np.nextafter(thr, np.inf)
    assert not np.array_equal(forest.predict(at), forest.predict(above))
    # tiny values around LightGBM's zero threshold
    specials = [0.0, -0.0, 1e-36, -1e-36, K_ZERO_THRESHOLD, -K_ZERO_THRESHOLD, np.inf, -np.inf]
    tiny = np.repeat(combo[:8], len(specials), axis=0)
    tiny[:, 0] = np.tile(specials, 8)
    _assert_same(forest, model, tiny)
    tiny[:, 1:] = np.tile(specials, 8)[:, None]
    _assert_same(forest, model, tiny)


def test_thresholds_round_trip_from_the_dump(binary_model):
    model, _ = binary_model
    forest = CompiledForest.from_lgbm(model)
    assert forest is not None
    ours = np.sort(forest.threshold[~forest.is_leaf])
    theirs = np.sort(np.concatenate(list(_thresholds(model).values())))
    np.testing.assert_array_equal(np.unique(ours), np.unique(theirs))


def test_row_counts_around_the_group_size(binary_model):
    model, X = binary_model
    forest = CompiledForest.from_lgbm(model)
    assert forest is not None
    for n in (1, 2, 15, 16, 17, 31, 33, 100):
        _assert_same(forest, model, X[:n])
    assert forest.predict(X[:0]).shape == (0,)
    # non-contiguous and integer input are converted
    _assert_same(forest, model, np.asfortranarray(X[:200]))
    _assert_same(forest, model, X[::3])
    ints = np.round(X[:300] * 3).astype(np.int64)
    np.testing.assert_array_equal(forest.predict(ints), model.predict_proba(ints)[:, 1])


def test_threads_give_the_same_numbers(binary_model):
    model, _ = binary_model
    forest = CompiledForest.from_lgbm(model)
    assert forest is not None
    X, _ = _data(50_011, seed=12)
    X[::7, 2] = np.nan
    one = forest.predict(X, n_threads=1)
    np.testing.assert_array_equal(forest.predict(X, n_threads=2), one)
    np.testing.assert_array_equal(forest.predict(X, n_threads=3), one)
    np.testing.assert_array_equal(forest.predict(X, n_threads=-1), one)
    np.testing.assert_array_equal(one, model.predict_proba(X)[:, 1])


def test_resolve_threads():
    assert resolve_threads(1) == 1 and resolve_threads(3) == 3
    cores = resolve_threads(0)
    assert cores >= 1 and resolve_threads(None) == cores and resolve_threads(-1) == cores
    assert resolve_threads(-cores - 5) == 1


def test_best_iteration_is_respected():
    X, y = _data(4000, seed=13)
    model = lgb.LGBMClassifier(**{**SMALL, "n_estimators": 300, "learning_rate": 0.3}).fit(
        X[:3000],
        y[:3000],
        eval_set=[(X[3000:], y[3000:])],
        callbacks=[lgb.early_stopping(5, verbose=False)],
    )
    assert 0 < model.best_iteration_ < 300
    forest = CompiledForest.from_lgbm(model)
    assert forest is not None and forest.n_trees == model.best_iteration_
    _assert_same(forest, model, X)
    booster_forest = CompiledForest.from_lgbm(model.booster_)
    assert booster_forest is not None and booster_forest.n_trees == model.best_iteration_


def test_booster_and_single_leaf_trees():
    X, y = _data(500, seed=14)
    booster = lgb.train(
        {"objective": "binary", "verbose": -1, "min_data_in_leaf": 400, "num_leaves": 4},
        lgb.Dataset(X, y),
        num_boost_round=5,
    )
    forest = CompiledForest.from_lgbm(booster)
    assert forest is not None
    assert (forest.max_depths <= 1).all()
    np.testing.assert_array_equal(forest.predict(X), booster.predict(X))


@pytest.mark.parametrize(
    "kind",
    ["categorical", "multiclass", "rf", "linear_tree", "huber", "cross_entropy", "poisson"],
)
def test_unsupported_models_return_none(kind):
    X, y = _data(2000, seed=15)
    if kind == "categorical":
        X[:, 0] = np.random.default_rng(15).integers(0, 6, size=len(X))
        y = (X[:, 0] % 2 == 0).astype(int)
        model = lgb.LGBMClassifier(**SMALL).fit(X, y, categorical_feature=[0])
    elif kind == "multiclass":
        model = lgb.LGBMClassifier(**SMALL).fit(X, y + (X[:, 1] > 1))
    elif kind == "rf":
        model = lgb.LGBMClassifier(
            **SMALL, boosting_type="rf", bagging_freq=1, bagging_fraction=0.7
        ).fit(X, y)
    elif kind == "linear_tree":
        model = lgb.LGBMRegressor(**SMALL, linear_tree=True).fit(X, X[:, 0])
    elif kind == "cross_entropy":
        model = lgb.LGBMRegressor(**SMALL, objective="cross_entropy").fit(X, y)
    else:
        model = lgb.LGBMRegressor(**SMALL, objective=kind).fit(X, np.abs(X[:, 0]))
    assert CompiledForest.from_lgbm(model) is None


def test_too_many_features_returns_none():
    rng = np.random.default_rng(16)
    X = rng.normal(size=(300, 4096))
    y = (X[:, 4095] > 0).astype(int)
    model = lgb.LGBMClassifier(**{**SMALL, "n_estimators": 2}).fit(X, y)
    assert CompiledForest.from_lgbm(model) is None
    narrow = lgb.LGBMClassifier(**{**SMALL, "n_estimators": 2}).fit(X[:, -4095:], y)
    forest = CompiledForest.from_lgbm(narrow)
    assert forest is not None
    _assert_same(forest, narrow, X[:, -4095:])


def test_bad_arguments(binary_model):
    model, X = binary_model
    with pytest.raises(TypeError, match=r"expected a fitted lightgbm\.LGBMModel"):
        CompiledForest.from_lgbm(object())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not fitted"):
        CompiledForest.from_lgbm(lgb.LGBMClassifier())
    forest = CompiledForest.from_lgbm(model)
    assert forest is not None
    with pytest.raises(ValueError, match="has 5 columns but the LightGBM model was trained on 6"):
        forest.predict(X[:, :5])
    with pytest.raises(ValueError, match="two-dimensional"):
        forest.predict(X[0])


def test_verification_catches_a_wrong_forest(binary_model):
    model, _ = binary_model
    forest = CompiledForest.from_lgbm(model)
    assert forest is not None
    assert forest._verify(model.booster_, -1) is None
    internal = np.flatnonzero(~forest.is_leaf)
    forest.threshold[internal[3]] = np.nextafter(forest.threshold[internal[3]], np.inf)
    assert "max abs difference" in str(forest._verify(model.booster_, -1))


def test_pickle_round_trip(binary_model):
    model, X = binary_model
    forest = CompiledForest.from_lgbm(model)
    again = pickle.loads(pickle.dumps(forest))
    np.testing.assert_array_equal(again.predict(X), forest.predict(X))


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs an unwritable /proc path")
def test_works_without_a_writable_numba_cache(tmp_path, binary_model):
    """No writable cache location: the kernel is compiled in memory, with a warning."""
    model, X = binary_model
    model.booster_.save_model(str(tmp_path / "model.txt"))
    np.save(tmp_path / "X.npy", X[:500])
    script = """
        import warnings
        import lightgbm as lgb, numpy as np
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            import forest_copy
        assert any("cannot cache" in str(w.message) for w in caught), caught
        booster = lgb.Booster(model_file="model.txt")
        X = np.load("X.npy")
        forest = forest_copy.CompiledForest.from_lgbm(booster)
        assert forest is not None
        assert np.array_equal(forest.predict(X), booster.predict(X))
        print("ok")
        """
    out = run_without_numba_cache(uplift._forest.__file__, "forest_copy.py", script, tmp_path)
    assert out.strip() == "ok"
    assert (tmp_path / "__pycache__").is_file()


# --------------------------------------------------------------------------- UpliftModel
def _numeric_frame(n: int = 3000, seed: int = 0, *, continuous: bool = False) -> pd.DataFrame:
    """The conftest RCT without its categorical column, plus numeric features with NaN."""
    frame = make_frame(n, seed, continuous=continuous).drop(columns=["region"])
    rng = np.random.default_rng(seed)
    frame["x3"] = rng.normal(size=n)
    frame.loc[rng.random(n) < 0.1, "x3"] = np.nan
    frame["x4"] = rng.integers(0, 5, size=n).astype(float)
    return frame


@pytest.fixture(scope="module")
def numeric():
    frame = _numeric_frame()
    data = UpliftData.from_frame(frame, treatment_col="arm", control=CONTROL, outcome_col="y")
    return frame, data


def _causalml_te(model: UpliftModel, frame: pd.DataFrame) -> np.ndarray:
    model._compiled_scoring = False
    try:
        return model.predict_uplift(frame)
    finally:
        del model._compiled_scoring


def test_t_learner_compiled_equals_causalml(numeric):
    _frame, data = numeric
    model = UpliftModel("t", n_estimators=40, seed=1).fit(data)
    compiled = model._compiled_scorers()
    assert compiled is not None, "the numeric T-learner must take the compiled path"
    assert compiled.groups == list(model.arms_) == ["A", "B"]
    scoring = _numeric_frame(2500, seed=3)
    got = model.predict_uplift(scoring)
    X = model.schema_.transform(scoring)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*valid feature names.*")
        expected = model.learner_.predict(X, verbose=False)
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(got, _causalml_te(model, scoring))
    assert np.abs(got).max() > 0.05  # real uplift numbers, not zeros
    # the per-arm numbers are p_t - p_c of the arm's and the control's LightGBM models
    p_c = model.learner_.model_c.predict_proba(X)[:, 1]
    p_b = model.learner_.models_t["B"].predict_proba(X)[:, 1]
    np.testing.assert_array_equal(got[:, 1], p_b - p_c)
    # the cache is built once per fitted learner
    assert model._compiled_scorers() is compiled


@pytest.mark.parametrize("n_jobs", [2])
def test_t_learner_threads(numeric, n_jobs):
    _frame, data = numeric
    model = UpliftModel("t", n_estimators=20, seed=1, n_jobs=n_jobs).fit(data)
    scoring = pd.concat([_numeric_frame(10_000, seed=s) for s in range(3)], ignore_index=True)
    got = model.predict_uplift(scoring)
    assert model._compiled_scorers() is not None
    np.testing.assert_array_equal(got, _causalml_te(model, scoring))


def test_t_regressor_compiled_equals_causalml():
    frame = _numeric_frame(2000, seed=4, continuous=True)
    data = UpliftData.from_frame(frame, treatment_col="arm", control=CONTROL, outcome_col="spend")
    model = UpliftModel("t", n_estimators=30, seed=2).fit(data)
    assert model._compiled_scorers() is not None
    np.testing.assert_array_equal(model.predict_uplift(frame), _causalml_te(model, frame))


@pytest.mark.parametrize("learner", ["x", "dr"])
def test_x_and_dr_effect_models_compiled(numeric, learner):
    frame, data = numeric
    model = UpliftModel(learner, n_estimators=20, seed=1).fit(data)
    assert model._compiled_scorers() is not None
    got = model.predict_uplift(frame)
    np.testing.assert_array_equal(got, _causalml_te(model, frame))
    assert np.abs(got).max() > 0.01


def test_categorical_model_falls_back_to_causalml(data, frame, fitted_t):
    # the conftest data has a string feature, which LightGBM splits on natively
    assert fitted_t._compiled_scorers() is None
    assert CompiledForest.from_lgbm(fitted_t.learner_.model_c) is None
    X = fitted_t.schema_.transform(frame)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*valid feature names.*")
        expected = fitted_t.learner_.predict(X, verbose=False)
    np.testing.assert_array_equal(fitted_t.predict_uplift(frame), expected)


def test_save_load_rebuilds_the_compiled_scorer(tmp_path, numeric):
    frame, data = numeric
    model = UpliftModel("t", n_estimators=30, seed=3).fit(data)
    before = model.predict(frame)
    assert model._compiled_scorers() is not None
    model.save(tmp_path / "m")
    loaded = UpliftModel.load(tmp_path / "m")
    assert "_compiled_cache" not in loaded.__dict__
    pd.testing.assert_frame_equal(loaded.predict(frame), before)
    assert loaded._compiled_scorers() is not None
    # pickling the model itself leaves the compiled forests out too
    clone = pickle.loads(pickle.dumps(loaded))
    assert "_compiled_cache" not in clone.__dict__
    pd.testing.assert_frame_equal(clone.predict(frame), before)
    # refitting replaces the learner, and the compiled forests with it
    old = loaded._compiled_scorers()
    loaded.fit(data)
    assert loaded._compiled_scorers() is not old
    pd.testing.assert_frame_equal(loaded.predict(frame), before)


def test_chained_trees_on_deep_unbalanced_forests():
    """Rows walk the chained trees at their own pace: deep, lopsided trees of many depths."""
    X, y = _data(n=6000, n_features=8, seed=3)
    model = lgb.LGBMRegressor(
        n_estimators=150, num_leaves=63, min_child_samples=2, learning_rate=0.3, verbose=-1
    ).fit(X, y + 0.5 * X[:, 1] ** 3)
    forest = CompiledForest.from_lgbm(model)
    assert forest is not None
    assert forest.max_depths.max() >= 2 * forest.min_depths.max()  # unbalanced trees
    np.testing.assert_array_equal(forest.predict(X), model.predict(X))


def _walk_chain(forest, x):
    """Follow the chain of :func:`_chain_layout` for one row, in plain Python."""
    thr, edge_value, link, entry, _ = forest._chain()
    state, total, steps = entry, 0.0, 0
    while not state & int(uplift._forest._SINK):
        split, feature = state >> 32, (state & 0xFFFF) // LANES
        edge = 2 * split + int(x[feature] > thr[split])
        total += edge_value[edge]
        state = int(link[edge])
        steps += 1
    return total, steps


def test_chain_layout_links_splits_and_carries_leaf_values(binary_model):
    model, _ = binary_model
    forest = CompiledForest.from_lgbm(model)
    thr, edge_value, link, entry, free_steps = uplift._forest._chain_layout(
        forest.threshold, forest.meta, forest.value, forest.roots, forest.min_depths
    )
    internal = ~forest.is_leaf
    k = int(internal.sum())  # no single-leaf tree in this model
    assert thr.shape == (k + 1,) and link.shape == edge_value.shape == (2 * k + 2,)
    np.testing.assert_array_equal(thr[:k], forest.threshold[internal])
    sink = link[-1]
    assert sink >> np.uint64(32) == k and sink & uplift._forest._SINK and np.isinf(thr[k])
    assert np.all(link[2 * k :] == sink) and np.all(np.signbit(edge_value[2 * k :]))
    # each tree's leaf values are on exactly one of its edges each; the other edges carry -0.0
    carries = ~((edge_value == 0.0) & np.signbit(edge_value))[:-2]
    roots = forest.roots.astype(np.int64)
    root_number = np.searchsorted(np.flatnonzero(internal), roots)
    tree_of_edge = np.searchsorted(root_number, np.arange(k).repeat(2), side="right") - 1
    tree_of_node = np.searchsorted(roots, np.arange(forest.n_nodes), side="right") - 1
    for t in range(forest.n_trees):
        np.testing.assert_array_equal(
            np.sort(edge_value[:-2][carries & (tree_of_edge == t)]),
            np.sort(forest.value[forest.is_leaf & (tree_of_node == t)]),
        )
    # edges into a leaf lead to the next tree's root (the last tree's to the sink)
    targets = (link[:-2][carries] >> np.uint64(32)).astype(np.int64)
    expected = np.append(root_number, k)[tree_of_edge[carries] + 1]
    np.testing.assert_array_equal(targets, expected)
    assert entry >> 32 == 0 and (entry & 0xFFFF) // LANES == forest.feature[roots[0]]
    assert free_steps == int(forest.min_depths.sum()) - 1


def test_chain_layout_walk_equals_the_tree_walk(binary_model):
    """One step per split on the row's path; the same raw score as LightGBM."""
    model, X = binary_model
    forest = CompiledForest.from_lgbm(model)
    raw = model.predict(X[:50], raw_score=True)
    for x, expected in zip(X[:50], raw, strict=True):
        total, steps = _walk_chain(forest, x)
        assert total == expected
        assert steps >= int(forest.min_depths.sum())
        assert steps <= int(forest.max_depths.sum())


def _single_leaf_tree_at(position: int, X: np.ndarray, y: np.ndarray) -> lgb.Booster:
    """A booster of 5 trees where tree ``position`` is a single leaf (the others split)."""
    params = {"objective": "regression", "verbose": -1, "num_leaves": 4}
    booster = lgb.train({**params, "min_data_in_leaf": 400}, lgb.Dataset(X, y), 1)  # one leaf
    booster = lgb.train(params, lgb.Dataset(X, y), 4, init_model=booster)
    text = booster.model_to_string()
    head, rest = text.split("\nTree=0\n", 1)
    body, tail = rest.split("\nend of trees", 1)
    trees = [t.strip("\n") for t in ("Tree=0\n" + body).split("\n\n\n") if t.strip()]
    assert [t.splitlines()[1] for t in trees] == ["num_leaves=1"] + ["num_leaves=4"] * 4
    order = [1, 2, 3, 4]
    order.insert(position, 0)
    renumbered = [re.sub(r"^Tree=\d+", f"Tree={i}", trees[j]) for i, j in enumerate(order)]
    head = "\n".join(line for line in head.splitlines() if not line.startswith("tree_sizes="))
    text = head + "\n" + "\n\n\n".join(renumbered) + "\n\n\nend of trees" + tail
    return lgb.Booster(model_str=text)


@pytest.mark.parametrize("position", [0, 2, 4])
def test_single_leaf_trees_keep_their_place_in_the_sum(position):
    """A tree without a split is a split that always goes left, its leaf value in tree order."""
    rng = np.random.default_rng(4)
    X = rng.normal(size=(500, 3))
    y = (X[:, 0] + rng.normal(size=500) > 0).astype(float)
    booster = _single_leaf_tree_at(position, X, y)
    forest = CompiledForest.from_lgbm(booster)
    assert forest is not None
    single = forest.is_leaf[forest.roots.astype(np.int64)]
    np.testing.assert_array_equal(single, np.arange(5) == position)
    np.testing.assert_array_equal(forest.predict(X), booster.predict(X))
    raw = booster.predict(X[:20], raw_score=True)
    assert [_walk_chain(forest, x)[0] for x in X[:20]] == raw.tolist()
