"""Files of a saved uplift model: LightGBM model text, arrays, and their SHA-256 checks.

:meth:`uplift.learners.UpliftModel.save` writes, and :meth:`~uplift.learners.UpliftModel.load`
reads, a directory that is data, not code (layout in :mod:`uplift.learners` and
``docs/uplift.md``): every LightGBM model the learner's prediction reads is LightGBM model text,
loaded with ``lightgbm.Booster(model_str=...)`` into a :class:`SavedLearner` that predicts as
causalml does; arrays are ``.npz`` read with ``allow_pickle=False``. Only the uplift forest, a
causalml object without a data format, is a pickle, and :class:`ModelFiles` unpickles it only when
its SHA-256 matches the one recorded in ``metadata.json``. Every file is checked against its
recorded SHA-256 before it is read, and only files listed in ``metadata.json`` are opened.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import lightgbm as lgb
import numpy as np

from attribution.errors import NotFittedError
from uplift.errors import ModelStoreError

__all__ = [
    "LEARNER_MODELS",
    "ModelFiles",
    "SavedLearner",
    "learner_state",
    "lgbm_text",
    "load_learner",
]


class ModelFiles:
    """Reads the files of a saved model directory, each checked against its recorded SHA-256."""

    def __init__(self, source: Path, hashes: Any, meta_path: Path) -> None:
        if not isinstance(hashes, dict):
            raise ModelStoreError(
                f"{str(meta_path)!r} has no 'files' table of SHA-256 hashes: save the model again"
            )
        self.source = source
        self.hashes = hashes
        self.meta_path = meta_path

    def read(self, name: Any) -> tuple[Path, bytes]:
        """Return the path and bytes of file ``name`` after checking its SHA-256."""
        if not isinstance(name, str) or name not in self.hashes or Path(name).name != name:
            raise ModelStoreError(
                f"{str(self.meta_path)!r} refers to {name!r}, which is not one of its listed "
                "files: save the model again"
            )
        path = self.source / name
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ModelStoreError(
                f"cannot read model file {str(path)!r} ({exc.strerror or exc}): the model "
                "directory is incomplete; save the model again"
            ) from exc
        if hashlib.sha256(data).hexdigest() != self.hashes[name]:
            raise ModelStoreError(
                f"model file {str(path)!r} does not match the SHA-256 recorded in "
                f"metadata.json: it is truncated or was modified; save the model again"
            )
        return path, data

    def booster(self, name: Any) -> lgb.Booster:
        """Return a LightGBM booster from its model text."""
        path, data = self.read(name)
        try:
            return lgb.Booster(model_str=data.decode("utf-8"))
        except (lgb.basic.LightGBMError, UnicodeDecodeError, ValueError) as exc:
            raise ModelStoreError(
                f"model file {str(path)!r} is not a LightGBM model ({exc}): save the model again"
            ) from exc

    def arrays(self, name: Any) -> dict[str, np.ndarray]:
        """Return the arrays of an ``.npz`` file (object arrays are refused, never unpickled)."""
        path, data = self.read(name)
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as npz:
                return {k: npz[k] for k in npz.files}
        except (ValueError, OSError, EOFError) as exc:
            raise ModelStoreError(
                f"model file {str(path)!r} is not a valid array file ({exc}): save the model again"
            ) from exc

    def pickled(self, name: Any) -> Any:
        """Unpickle a file whose SHA-256 matches the recorded one."""
        path, data = self.read(name)
        try:
            return joblib.load(io.BytesIO(data))
        except Exception as exc:
            raise ModelStoreError(
                f"model file {str(path)!r} cannot be loaded ({type(exc).__name__}: {exc}): "
                "save the model again"
            ) from exc


def lgbm_text(model: Any) -> bytes:
    """LightGBM model text of a fitted scikit-learn LightGBM model or booster."""
    from uplift._forest import _booster_of

    if isinstance(model, lgb.LGBMModel) and callable(model.objective):
        raise ModelStoreError(
            "a LightGBM model with a custom objective function cannot be saved as model text: "
            "use a built-in objective"
        )
    return _booster_of(model).model_to_string().encode("utf-8")


#: the LightGBM models each learner's prediction reads, by learner (the rest is not saved)
LEARNER_MODELS: dict[str, tuple[str, ...]] = {
    "s": ("models",),
    "t": ("models_t",),
    "x": ("models_tau_c", "models_tau_t"),
    "r": ("models_tau",),
    "dr": ("models_tau",),
}


def learner_state(name: str, learner: Any, add: Any) -> dict[str, Any]:
    """Write the fitted learner's models through ``add``; return their file names."""
    if name == "uplift_rf":
        buffer = io.BytesIO()
        joblib.dump(learner, buffer)
        return {"kind": "pickle", "file": add("uplift_forest.joblib", buffer.getvalue())}
    groups = [str(g) for g in learner.t_groups]
    state: dict[str, Any] = {"kind": "lightgbm", "groups": groups}
    if name == "t":
        state["model_c"] = add("lgbm-control.txt", lgbm_text(learner.model_c))
    for role in LEARNER_MODELS[name]:
        models = getattr(learner, role)
        files: list[Any] = []
        for i, g in enumerate(learner.t_groups):
            if name == "dr":
                files.append(
                    [add(f"lgbm-{role}-{i}-{j}.txt", lgbm_text(m)) for j, m in enumerate(models[g])]
                )
            else:
                files.append(add(f"lgbm-{role}-{i}.txt", lgbm_text(models[g])))
        state[role] = files
    return state


def load_learner(
    name: str, arms: tuple[str, ...], outcome_type: str, state: dict[str, Any], reader: ModelFiles
) -> Any:
    """Return the learner of a saved model: the forest's pickle, else a :class:`SavedLearner`."""
    if name == "uplift_rf":
        if state.get("kind") != "pickle":
            raise ModelStoreError(f"{str(reader.meta_path)!r} is malformed: save the model again")
        return reader.pickled(state["file"])
    if state.get("kind") != "lightgbm" or name not in LEARNER_MODELS:
        raise ModelStoreError(
            f"{str(reader.meta_path)!r} does not describe the LightGBM models of learner "
            f"{name!r}: save the model again"
        )
    groups = [str(g) for g in state["groups"]]
    if groups != list(arms):
        raise ModelStoreError(
            f"{str(reader.meta_path)!r} lists models for arms {groups!r} but the model has arms "
            f"{list(arms)!r}: save the model again"
        )
    saved = SavedLearner(
        name=name,
        binary=outcome_type == "binary",
        t_groups=np.asarray(groups, dtype=object),
    )
    if name == "t":
        saved.model_c = reader.booster(state["model_c"])
    for role in LEARNER_MODELS[name]:
        files = list(state[role])
        if len(files) != len(groups):
            raise ModelStoreError(
                f"{str(reader.meta_path)!r} lists {len(files)} {role} models for "
                f"{len(groups)} arms: save the model again"
            )
        if name == "dr":
            loaded: dict[str, Any] = {
                g: [reader.booster(f) for f in fs] for g, fs in zip(groups, files, strict=True)
            }
        else:
            loaded = {g: reader.booster(f) for g, f in zip(groups, files, strict=True)}
        setattr(saved, role, loaded)
    return saved


@dataclass
class SavedLearner:
    """A loaded meta-learner: the LightGBM boosters its prediction reads, scored as causalml does.

    Attribute names follow causalml's (``t_groups``, ``model_c``, ``models_t``, ...), so the
    compiled scorer (:func:`_compile_learner`) reads it like the fitted learner. ``predict``
    reproduces causalml's ``predict`` of the learner from its boosters (``Booster.predict`` is
    ``predict_proba(X)[:, 1]`` for a binary LightGBM classifier and ``predict`` for a regressor).
    """

    name: str
    binary: bool
    t_groups: np.ndarray
    model_c: Any = None
    models: dict[str, Any] = field(default_factory=dict)
    models_t: dict[str, Any] = field(default_factory=dict)
    models_tau_c: dict[str, Any] = field(default_factory=dict)
    models_tau_t: dict[str, Any] = field(default_factory=dict)
    models_tau: dict[str, Any] = field(default_factory=dict)

    def predict(self, X: np.ndarray, p: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """Predicted uplift, ``(n_rows, n_groups)``, as causalml's ``predict`` of the learner."""
        te = np.zeros((X.shape[0], len(self.t_groups)))
        for i, g in enumerate(self.t_groups):
            if self.name == "s":  # the treatment indicator is the first column
                ones, zeros = np.ones((X.shape[0], 1)), np.zeros((X.shape[0], 1))
                model = self.models[g]
                te[:, i] = model.predict(np.hstack((ones, X))) - model.predict(
                    np.hstack((zeros, X))
                )
            elif self.name == "t":
                te[:, i] = self.models_t[g].predict(X) - self.model_c.predict(X)
            elif self.name == "x":
                if p is None:  # pragma: no cover - the model always passes the propensity
                    raise NotFittedError("the X-learner needs the propensity to predict")
                p_g = np.ravel(p[g])
                dhat_c = self.models_tau_c[g].predict(X)
                dhat_t = self.models_tau_t[g].predict(X)
                te[:, i] = p_g * dhat_c + (1 - p_g) * dhat_t
            elif self.name == "r":
                te[:, i] = self.models_tau[g].predict(X)
            else:  # dr
                te[:, i] = np.r_[[m.predict(X) for m in self.models_tau[g]]].mean(axis=0)
        return te
