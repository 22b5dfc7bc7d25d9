from __future__ import annotations

import pytest

from attribution import catalog
from attribution.base import AttributionModel
from attribution.errors import InvalidModelOptionError


def test_model_names_are_the_classes_names_in_order():
    assert list(catalog.MODELS) == list(catalog.MODEL_NAMES)
    for name, cls in catalog.MODELS.items():
        assert issubclass(cls, AttributionModel)
        assert cls.name == name
        assert catalog.model_class(name) is cls
    assert len(set(catalog.MODEL_NAMES)) == len(catalog.MODEL_NAMES)
    assert {"markov", "first_touch", "data_driven"} <= set(catalog.MODEL_NAMES)


def test_report_defaults_are_known_models():
    assert set(catalog.DEFAULT_REPORT_MODELS) <= set(catalog.MODEL_NAMES)
    from experiments.reports.pipeline import DEFAULT_MODELS

    assert DEFAULT_MODELS == catalog.DEFAULT_REPORT_MODELS


def test_unknown_model_names_the_closest_and_the_choices():
    with pytest.raises(InvalidModelOptionError, match="model 'markv'; did you mean 'markov'"):
        catalog.model_class("markv")
    with pytest.raises(InvalidModelOptionError, match="Choose from: first_touch, last_touch"):
        catalog.model_class("nothing-like-it")


def test_unknown_attribute():
    with pytest.raises(AttributeError, match="no attribute 'MODEL'"):
        catalog.MODEL  # noqa: B018
