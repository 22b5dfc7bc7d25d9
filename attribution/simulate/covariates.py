"""Pre-exposure user covariates of the simulator: noisy proxies of intent, and pure noise.

Real advertisers know things about their users before any exposure (past visits, tenure,
segment, CRM scores). The simulator writes such a *user table* so that causal attribution can be
tested against the exact truth. Each covariate ``j`` has a Gaussian *signal*

    s_ij = rho_j * z_i + sqrt(1 - rho_j**2) * eps_ij,      eps_ij ~ Normal(0, 1) independent,

with ``rho_j = intent_correlation`` (``0``: pure noise, ``1``: the intent itself). A numeric
covariate is ``mean + sd * s_ij``; a categorical one is the signal cut at the quantiles of the
standard normal into ``levels`` equally likely levels named ``"<name>_1"`` (lowest signal) to
``"<name>_<levels>"``. A covariate with ``source`` reuses that covariate's signal instead of
drawing its own (e.g. a segment that buckets a CRM score): it adds no information about intent.

Covariates are drawn from their own random stream after everything else, so adding or changing
them leaves the events, costs and truth of a configuration unchanged; they are independent of
exposure and conversion given intent (pre-exposure).

Proxy quality. For independent signals the best predictor of ``z`` from the signals is linear,
with

    quality = corr(z, E[z | signals]) = sqrt(1 - 1 / (1 + sum_j rho_j**2 / (1 - rho_j**2)))

over the covariates that draw their own signal (``1`` if any ``rho_j = 1``). Cutting a signal
into levels loses information, so the quality of a table with categorical covariates is at most
this value. :func:`proxy_covariates` builds the table used in benchmarks, whose quality is
exactly its argument.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.special import ndtri

from attribution.simulate._checks import SimulationConfigError, _check_int, _check_range

__all__ = [
    "CovariateSpec",
    "covariate_signals",
    "covariate_table",
    "proxy_covariates",
    "proxy_quality",
]

CovariateKind = Literal["numeric", "categorical"]
_RESERVED = ("user_id",)


@dataclass(frozen=True)
class CovariateSpec:
    """One pre-exposure user covariate of the simulation.

    Parameters
    ----------
    name
        Column name in the user table (non-empty, not ``"user_id"``).
    intent_correlation
        ``rho``: correlation of the covariate's signal with intent, in ``[-1, 1]``. ``0`` is pure
        noise.
    kind
        ``"numeric"`` or ``"categorical"``.
    levels
        Number of equally likely levels of a categorical covariate (``>= 2``).
    mean, sd
        Location and scale of a numeric covariate (``sd > 0``).
    source
        Name of another covariate whose signal this one reuses (its own ``intent_correlation``
        must then be left at 0). The source must come earlier in the list.
    """

    name: str
    intent_correlation: float = 0.0
    kind: CovariateKind = "numeric"
    levels: int = 4
    mean: float = 0.0
    sd: float = 1.0
    source: str | None = None

    def __post_init__(self) -> None:
        if (
            not isinstance(self.name, str)
            or not self.name.strip()
            or self.name != self.name.strip()
        ):
            raise SimulationConfigError(
                f"CovariateSpec: name must be a non-empty string without surrounding spaces, "
                f"got {self.name!r}"
            )
        if self.name in _RESERVED:
            raise SimulationConfigError(
                f"CovariateSpec: {self.name!r} is the user table's key; choose another name"
            )
        owner = f"CovariateSpec {self.name!r}"
        setter = object.__setattr__
        setter(
            self,
            "intent_correlation",
            _check_range(owner, "intent_correlation", self.intent_correlation, -1.0, 1.0),
        )
        if self.kind not in ("numeric", "categorical"):
            raise SimulationConfigError(
                f"{owner}: kind must be 'numeric' or 'categorical', got {self.kind!r}"
            )
        setter(self, "levels", _check_int(owner, "levels", self.levels, 2))
        setter(self, "mean", _check_range(owner, "mean", self.mean))
        setter(self, "sd", _check_range(owner, "sd", self.sd, 0.0, low_open=True))
        if self.source is not None:
            if not isinstance(self.source, str) or self.source == self.name:
                raise SimulationConfigError(
                    f"{owner}: source must name another covariate, got {self.source!r}"
                )
            if self.intent_correlation != 0.0:
                raise SimulationConfigError(
                    f"{owner}: a covariate with a source reuses that signal; leave "
                    "intent_correlation at 0"
                )

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a plain dictionary."""
        return dataclasses.asdict(self)


def check_covariates(value: Any) -> tuple[CovariateSpec, ...]:
    """Validate the ``covariates`` field of a configuration (specs or mappings of fields)."""
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise SimulationConfigError(
            f"SimulationConfig: covariates must be a list of covariate specs, got {value!r}"
        )
    specs: list[CovariateSpec] = []
    for position, item in enumerate(value):
        if isinstance(item, Mapping):
            valid = {f.name for f in dataclasses.fields(CovariateSpec)}
            unknown = sorted(set(item) - valid)
            if unknown or "name" not in item:
                raise SimulationConfigError(
                    f"SimulationConfig: covariates[{position}] needs a 'name' and only the fields "
                    f"{sorted(valid)}; got {sorted(item)}"
                )
            item = CovariateSpec(**item)
        if not isinstance(item, CovariateSpec):
            raise SimulationConfigError(
                f"SimulationConfig: covariates[{position}] must be a CovariateSpec or a mapping, "
                f"got {item!r}"
            )
        if any(spec.name == item.name for spec in specs):
            raise SimulationConfigError(
                f"SimulationConfig: covariates has the name {item.name!r} twice; give each "
                "covariate a unique name"
            )
        if item.source is not None and not any(spec.name == item.source for spec in specs):
            raise SimulationConfigError(
                f"SimulationConfig: covariate {item.name!r} has source {item.source!r}, which is "
                "not an earlier covariate"
            )
        specs.append(item)
    return tuple(specs)


def proxy_quality(specs: Sequence[CovariateSpec]) -> float:
    """``corr(z, E[z | signals])`` for the covariates' independent signals (module docstring)."""
    precision = 0.0
    for spec in specs:
        if spec.source is not None:
            continue
        rho2 = spec.intent_correlation**2
        if rho2 >= 1.0:
            return 1.0
        precision += rho2 / (1.0 - rho2)
    return math.sqrt(1.0 - 1.0 / (1.0 + precision))


def proxy_covariates(quality: float) -> tuple[CovariateSpec, ...]:
    """Return the benchmark's user table: one proxy of intent of the given quality, and noise.

    ``crm_score`` (numeric, correlation ``quality`` with intent), ``segment`` (its quartiles,
    categorical: no information beyond ``crm_score``), ``tenure_years`` (numeric, mean 4, sd 2)
    and ``region`` (categorical, 5 levels), both pure noise. :func:`proxy_quality` of the result
    is ``quality``.
    """
    quality = _check_range("proxy_covariates", "quality", quality, 0.0, 1.0)
    return (
        CovariateSpec("crm_score", intent_correlation=quality, mean=50.0, sd=15.0),
        CovariateSpec("segment", kind="categorical", levels=4, source="crm_score"),
        CovariateSpec("tenure_years", mean=4.0, sd=2.0),
        CovariateSpec("region", kind="categorical", levels=5),
    )


def covariate_signals(
    specs: Sequence[CovariateSpec], intent: np.ndarray, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Draw the standard-normal signal of every covariate (a sourced one shares its source's)."""
    n = intent.shape[0]
    signals: dict[str, np.ndarray] = {}
    for spec in specs:
        if spec.source is not None:
            signals[spec.name] = signals[spec.source]
            continue
        rho = spec.intent_correlation
        noise = rng.standard_normal(n)
        signals[spec.name] = rho * intent + math.sqrt(max(1.0 - rho * rho, 0.0)) * noise
    return signals


def covariate_table(
    specs: Sequence[CovariateSpec], signals: Mapping[str, np.ndarray]
) -> pd.DataFrame:
    """Turn the signals into the covariate columns (spec order; no ``user_id``)."""
    columns: dict[str, Any] = {}
    for spec in specs:
        signal = signals[spec.name]
        if spec.kind == "numeric":
            columns[spec.name] = spec.mean + spec.sd * signal
        else:
            cuts = ndtri(np.arange(1, spec.levels) / spec.levels)
            level = np.searchsorted(cuts, signal, side="right")
            labels = pd.Index([f"{spec.name}_{k + 1}" for k in range(spec.levels)])
            columns[spec.name] = pd.Categorical.from_codes(level, categories=labels)
    return pd.DataFrame(columns)
