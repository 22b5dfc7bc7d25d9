"""Names of the attribution models, as used on the command line, in reports and in MLflow."""

from __future__ import annotations

from attribution.base import AttributionModel
from attribution.causal import CausalAttribution
from attribution.data_driven import DataDrivenAttribution
from attribution.errors import InvalidModelOptionError
from attribution.heuristics import (
    FirstTouch,
    LastNonDirect,
    LastTouch,
    Linear,
    PositionBased,
    TimeDecay,
)
from attribution.markov import MarkovAttribution
from attribution.shapley import ConversionRateShapley, OrderedShapley, SimplifiedShapley

__all__ = ["MODELS", "USER_MODELS", "model_class", "models_for"]

#: model name -> class, in the order reports list them
MODELS: dict[str, type[AttributionModel]] = {
    cls.name: cls
    for cls in (
        FirstTouch,
        LastTouch,
        LastNonDirect,
        Linear,
        PositionBased,
        TimeDecay,
        MarkovAttribution,
        SimplifiedShapley,
        OrderedShapley,
        ConversionRateShapley,
        DataDrivenAttribution,
        CausalAttribution,
    )
}

#: models that need the users' covariates (journeys from an event log with a user table)
USER_MODELS: frozenset[str] = frozenset({CausalAttribution.name})


def models_for(*, has_users: bool) -> list[str]:
    """Names that ``all`` stands for: every model, the user-table ones only when users are known."""
    return [name for name in MODELS if has_users or name not in USER_MODELS]


def model_class(name: str) -> type[AttributionModel]:
    """Return the model class called ``name``, or raise a clear error listing the choices."""
    try:
        return MODELS[name]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(name, list(MODELS), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise InvalidModelOptionError(
            f"unknown model {name!r}{hint} Choose from: {', '.join(MODELS)}, or 'all'"
        ) from None
