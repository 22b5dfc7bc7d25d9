"""Cross-check :func:`uplift.multiarm.multiarm_qini` against grf's ``maq`` on random cases.

grf's ``maq`` Python bindings are not on PyPI under that name (the PyPI ``maq`` is another
project); build them from the source of github.com/grf-labs/maq (``python-package/``, version
0.2.2 was used), e.g. ``pip install --target /tmp/maqlib maq/python-package`` (needs a C++
compiler; Cython and NumPy come from PyPI), then::

    PYTHONPATH=.:/tmp/maqlib python benchmarks/check_maq.py --cases 20

For each case (``n`` 50-400 rows, ``K`` 1-3 arms, random assignment, outcomes, predicted uplift
and positive per-customer costs) both build the budget path with IPW scores from the observed
arm shares; the script prints whether they allocate the same customer and arm at every step and
the largest difference in spend and gain.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from uplift.multiarm import multiarm_qini


def main() -> None:
    """Compare the two paths on ``--cases`` random cases."""
    from maq import MAQ, get_ipw_scores

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    worst, same_all = 0.0, True
    for case in range(args.cases):
        n, k = int(rng.integers(50, 400)), int(rng.integers(1, 4))
        w = rng.integers(0, k + 1, n)
        while len(np.unique(w)) < k + 1:
            w = rng.integers(0, k + 1, n)
        y = rng.normal(size=n) + 0.5 * (w > 0)
        tau = rng.normal(0.1, 1, (n, k))
        cost = rng.uniform(0.05, 1, (n, k))
        shares = np.array([np.mean(w == j) for j in range(k + 1)])
        path = (
            MAQ(n_bootstrap=0).fit(tau, cost, get_ipw_scores(y, w, np.tile(shares, (n, 1))))._path
        )
        names = np.array(["c"] + [f"a{j}" for j in range(1, k + 1)])
        pred = pd.DataFrame({f"uplift_a{j}": tau[:, j - 1] for j in range(1, k + 1)})
        ours = multiarm_qini(
            pred, y, names[w], control="c", cost_per_contact=0.0, customer_cost=cost,
            n_bootstrap=0,
        ).path  # fmt: skip
        same = np.array_equal(ours["row"].to_numpy(), np.asarray(path["ipath"])) and (
            [int(a[1:]) - 1 for a in ours["arm"]] == [int(v) for v in path["kpath"]]
        )
        diff = max(
            float(np.abs(ours["spend"].to_numpy() - path["spend"]).max()),
            float(np.abs(ours["gain"].to_numpy() - path["gain"]).max()),
        )
        worst, same_all = max(worst, diff), same_all and same
        print(
            f"case {case}: n={n} K={k} steps={len(ours)} same allocations={same} "
            f"max diff={diff:.1e}"
        )
    print(f"all same allocations: {same_all}; largest difference in spend or gain: {worst:.1e}")


if __name__ == "__main__":
    main()
