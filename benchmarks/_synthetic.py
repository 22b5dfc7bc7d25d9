"""Synthetic path tables for the Shapley and bootstrap benchmarks."""

from __future__ import annotations

import numpy as np
import pandas as pd

from attribution.journeys import Journeys


def synthetic_paths(
    n_channels: int, n_journeys: int, *, max_len: int = 8, seed: int = 0, n_draws: int | None = None
) -> Journeys:
    """Random journeys over ``n_channels`` channels aggregated into a path table.

    Path lengths are geometric (mean about 2.5, at most ``max_len``), channels are drawn with
    Zipf-like popularity, and each channel adds a fixed amount to the log-odds of conversion.
    ``n_draws`` distinct journeys are drawn and their counts scaled up to ``n_journeys``.
    """
    rng = np.random.default_rng(seed)
    n_draws = n_draws or n_journeys
    lengths = np.minimum(rng.geometric(0.4, n_draws), max_len)
    popularity = 1.0 / np.arange(1, n_channels + 1) ** 0.8
    popularity /= popularity.sum()
    codes = rng.choice(n_channels, size=int(lengths.sum()), p=popularity)
    names = np.array([f"ch{c:02d}" for c in range(n_channels)], dtype=object)
    effect = rng.normal(0.0, 0.4, n_channels)
    owner = np.repeat(np.arange(n_draws), lengths)
    logit = -3.0 + np.bincount(owner, effect[codes], n_draws)
    p = 1.0 / (1.0 + np.exp(-logit))
    scale = n_journeys // n_draws
    conv = rng.binomial(scale, p)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    tokens = names[codes]
    paths = [" > ".join(tokens[offsets[i] : offsets[i + 1]]) for i in range(n_draws)]
    frame = pd.DataFrame(
        {
            "path": paths,
            "total_conversions": conv,
            "total_null": scale - conv,
            "total_conversion_value": conv * 50.0,
        }
    )
    return Journeys.from_paths(frame)
