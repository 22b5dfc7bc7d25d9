"""Multi-touch attribution: journeys and the models that credit channels for conversions.

Start with :class:`Journeys` (built from a path table or an event log), then fit a model:

>>> from attribution import Journeys, MarkovAttribution
>>> j = Journeys.from_sequences([["A", "B"], ["B"], ["A"]], [1, 0, 1], [0, 1, 1], [10, 0, 5])
>>> MarkovAttribution(order=2, n_bootstrap=0).fit(j).result_.conversions.round(4).tolist()
[1.3333, 0.6667]
"""

from attribution.data_driven import DataDrivenAttribution, data_driven_attribution
from attribution.errors import AttributionError, InvalidJourneysError, InvalidModelOptionError
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
    "OrderedShapley",
    "PositionBased",
    "Provenance",
    "SimplifiedShapley",
    "TimeDecay",
    "conversion_rate_shapley_attribution",
    "data_driven_attribution",
    "heuristic_attribution",
    "markov_attribution",
    "ordered_shapley_attribution",
    "parse_duration",
    "select_order",
    "shapley_attribution",
]
