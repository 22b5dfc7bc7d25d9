"""Names of the attribution models, as used on the command line, in reports and in MLflow.

The names are plain strings, so the command line can list them without importing the models;
a model's class is imported when it is first asked for (:func:`model_class`, :data:`MODELS`).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from attribution._validation import did_you_mean
from attribution.errors import InvalidModelOptionError

if TYPE_CHECKING:
    from attribution.base import AttributionModel

    #: model name -> class, in the order reports list them (built on first use)
    MODELS: dict[str, type[AttributionModel]]

__all__ = [
    "DEFAULT_REPORT_MODELS",
    "MODELS",
    "MODEL_NAMES",
    "USER_MODELS",
    "build_models",
    "model_class",
    "models_for",
]

#: model name -> (module, class), in the order reports list them; each class's ``name`` is its key
_CLASSES: dict[str, tuple[str, str]] = {
    "first_touch": ("attribution.heuristics", "FirstTouch"),
    "last_touch": ("attribution.heuristics", "LastTouch"),
    "last_non_direct": ("attribution.heuristics", "LastNonDirect"),
    "linear": ("attribution.heuristics", "Linear"),
    "position_based": ("attribution.heuristics", "PositionBased"),
    "time_decay": ("attribution.heuristics", "TimeDecay"),
    "markov": ("attribution.markov", "MarkovAttribution"),
    "shapley": ("attribution.shapley", "SimplifiedShapley"),
    "ordered_shapley": ("attribution.shapley", "OrderedShapley"),
    "conversion_rate_shapley": ("attribution.shapley", "ConversionRateShapley"),
    "data_driven": ("attribution.data_driven", "DataDrivenAttribution"),
    "causal": ("attribution.causal", "CausalAttribution"),
}

#: the model names, in the order reports list them
MODEL_NAMES: tuple[str, ...] = tuple(_CLASSES)

#: models that need the users' covariates (journeys from an event log with a user table)
USER_MODELS: frozenset[str] = frozenset({"causal"})


def models_for(*, has_users: bool) -> list[str]:
    """Names that ``all`` stands for: every model, the user-table ones only when users are known."""
    return [name for name in MODEL_NAMES if has_users or name not in USER_MODELS]


#: models a report fits by default: the usual heuristics and the Markov removal effect
DEFAULT_REPORT_MODELS: tuple[str, ...] = (
    "first_touch",
    "last_touch",
    "linear",
    "position_based",
    "markov",
)


def model_class(name: str) -> type[AttributionModel]:
    """Return the model class called ``name``, or raise a clear error listing the choices."""
    try:
        module, cls = _CLASSES[name]
    except KeyError:
        raise InvalidModelOptionError(
            f"unknown model {name!r}{did_you_mean(name, MODEL_NAMES)} Choose from: "
            f"{', '.join(MODEL_NAMES)}, or 'all'"
        ) from None
    found: type[AttributionModel] = getattr(importlib.import_module(module), cls)
    return found


def build_models(
    names: Sequence[str],
    *,
    n_bootstrap: int = 200,
    seed: int | None = 0,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    has_users: bool = False,
) -> list[AttributionModel]:
    """Instantiate the named models, each once, in the order given.

    ``"all"`` stands for :func:`models_for` (the user-table models only with ``has_users``).
    ``options`` maps a model name to its own parameters (e.g. ``{"markov": {"order": 2}}``);
    options of models not asked for are ignored. Every model gets the bootstrap settings
    ``n_bootstrap`` and ``seed``.
    """
    wanted = models_for(has_users=has_users) if "all" in names else names
    options = options or {}
    return [
        model_class(name)(**options.get(name, {}), n_bootstrap=n_bootstrap, seed=seed)
        for name in dict.fromkeys(wanted)
    ]


def __getattr__(name: str) -> Any:
    if name == "MODELS":
        models = {key: model_class(key) for key in MODEL_NAMES}
        globals()["MODELS"] = models  # built once
        return models
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
