"""Multi-touch attribution: journeys and the models that credit channels for conversions.

Start with :class:`Journeys` (built from a path table or an event log), then fit a model:

>>> from attribution import Journeys, MarkovAttribution
>>> j = Journeys.from_sequences([["A", "B"], ["B"], ["A"]], [1, 0, 1], [0, 1, 1], [10, 0, 5])
>>> MarkovAttribution(order=2, n_bootstrap=0).fit(j).result_.conversions.round(4).tolist()
[1.3333, 0.6667]

The names below are imported on first use (PEP 562), so ``import attribution.errors`` or the
command line's ``--help`` do not load NumPy, SciPy or the compiled kernels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from attribution._lazy import lazy_namespace

if TYPE_CHECKING:
    from attribution.causal import CausalAttribution, causal_attribution
    from attribution.covariates import UserCovariates
    from attribution.data_driven import DataDrivenAttribution, data_driven_attribution
    from attribution.errors import (
        AttributionError,
        InvalidJourneysError,
        InvalidModelOptionError,
        NotFittedError,
    )
    from attribution.heuristics import (
        FirstTouch,
        LastNonDirect,
        LastTouch,
        Linear,
        PositionBased,
        TimeDecay,
        heuristic_attribution,
    )
    from attribution.journeys import Journeys, JourneyTiming, Provenance, parse_duration
    from attribution.markov import MarkovAttribution, markov_attribution, select_order
    from attribution.result import AttributionResult, ConfidenceIntervals
    from attribution.shapley import (
        ConversionRateShapley,
        OrderedShapley,
        SimplifiedShapley,
        conversion_rate_shapley_attribution,
        ordered_shapley_attribution,
        shapley_attribution,
    )

__all__ = [
    "AttributionError",
    "AttributionResult",
    "CausalAttribution",
    "ConfidenceIntervals",
    "ConversionRateShapley",
    "DataDrivenAttribution",
    "FirstTouch",
    "InvalidJourneysError",
    "InvalidModelOptionError",
    "JourneyTiming",
    "Journeys",
    "LastNonDirect",
    "LastTouch",
    "Linear",
    "MarkovAttribution",
    "NotFittedError",
    "OrderedShapley",
    "PositionBased",
    "Provenance",
    "SimplifiedShapley",
    "TimeDecay",
    "UserCovariates",
    "causal_attribution",
    "conversion_rate_shapley_attribution",
    "data_driven_attribution",
    "heuristic_attribution",
    "markov_attribution",
    "ordered_shapley_attribution",
    "parse_duration",
    "select_order",
    "shapley_attribution",
]

#: public name -> the module that defines it (imported when the name is first used)
_SOURCES: dict[str, str] = {
    "AttributionError": "attribution.errors",
    "AttributionResult": "attribution.result",
    "CausalAttribution": "attribution.causal",
    "ConfidenceIntervals": "attribution.result",
    "ConversionRateShapley": "attribution.shapley",
    "DataDrivenAttribution": "attribution.data_driven",
    "FirstTouch": "attribution.heuristics",
    "InvalidJourneysError": "attribution.errors",
    "InvalidModelOptionError": "attribution.errors",
    "JourneyTiming": "attribution.journeys",
    "Journeys": "attribution.journeys",
    "LastNonDirect": "attribution.heuristics",
    "LastTouch": "attribution.heuristics",
    "Linear": "attribution.heuristics",
    "MarkovAttribution": "attribution.markov",
    "NotFittedError": "attribution.errors",
    "OrderedShapley": "attribution.shapley",
    "PositionBased": "attribution.heuristics",
    "Provenance": "attribution.journeys",
    "SimplifiedShapley": "attribution.shapley",
    "TimeDecay": "attribution.heuristics",
    "UserCovariates": "attribution.covariates",
    "causal_attribution": "attribution.causal",
    "conversion_rate_shapley_attribution": "attribution.shapley",
    "data_driven_attribution": "attribution.data_driven",
    "heuristic_attribution": "attribution.heuristics",
    "markov_attribution": "attribution.markov",
    "ordered_shapley_attribution": "attribution.shapley",
    "parse_duration": "attribution.journeys",
    "select_order": "attribution.markov",
    "shapley_attribution": "attribution.shapley",
}


__getattr__, __dir__ = lazy_namespace(__name__, _SOURCES, __all__, globals())
