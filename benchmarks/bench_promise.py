"""Coverage of the plan's promise on simulated campaigns (honest plans, ``uplift.promise``).

For each campaign ``c`` (seed ``seed0 + c``): simulate ``--customers`` customers
(:func:`uplift.simulate.simulate_campaign`, arms email and push, binary conversion); train a
calibrated learner on a stratified 70% (:func:`uplift.workflow.train_and_evaluate`, T-learner
with 100 trees by default, ``--folds`` cross-fitting folds); plan targeting of the held-out 30%
(contacts budget ``--budget-share`` of them, value 40 per conversion, cost 0.5 per e-mail and
0.8 per push); promise the plan's incremental conversions and profit with a 95% interval
(:func:`uplift.promise.promise_plan`); and compare with the truth on those customers,
``V(S) = sum_{i in S} tau_{a_i}(x_i)`` from the simulator's true uplift.

Reported: the share of campaigns whose true value falls in the promised interval (coverage) with
its Monte Carlo standard error ``sqrt(p (1 - p) / C)``; the mean of promise / truth for the
promise and for the uncalibrated sum of predictions; the mean interval width relative to the
truth; the share of campaigns whose held-out estimate (:func:`uplift.targeting.evaluate_targeting`,
which has its own sampling noise) falls in the promised interval; wall time. One JSON line per
campaign, then a summary line.

Usage::

    python benchmarks/bench_promise.py --campaigns 200 --customers 20000
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import platform
import time

import numpy as np

from uplift.promise import promise_plan
from uplift.simulate import simulate_campaign
from uplift.targeting import evaluate_targeting, plan_targeting
from uplift.workflow import train_and_evaluate

VALUE = 40.0
COSTS = {"email": 0.5, "push": 0.8}


def one_campaign(c: int, args: argparse.Namespace) -> dict[str, float]:
    """Train, plan, promise and compare with the truth for campaign ``c``."""
    t0 = time.perf_counter()
    sim = simulate_campaign(args.customers, seed=args.seed0 + c)
    data = sim.uplift_data()
    result = train_and_evaluate(
        data,
        learner=args.learner,
        params={"n_estimators": 100},
        seed=c,
        n_folds=args.folds,
        n_bootstrap=0,
    )
    test, model = result.test, result.model
    plan = plan_targeting(
        model.predict(test.features),
        control=sim.control,
        budget=int(args.budget_share * len(test)),
        value_per_conversion=VALUE,
        cost_per_contact=COSTS,
    )
    promise = promise_plan(model, plan, test.features, n_draws=args.draws, seed=c)
    truth = sim.true_uplift.iloc[result.test_rows].reset_index(drop=True)
    a = plan.assignments.reset_index(drop=True)
    v = float(sum(truth.loc[a["targeted"] & (a["arm"] == arm), arm].sum() for arm in COSTS))
    lo, hi = promise.interval
    plo, phi = promise.profit_interval
    profit = VALUE * v - plan.total_cost
    held = evaluate_targeting(plan, test.outcome, test.treatment, n_bootstrap=0).to_frame()
    held_value = float(held.loc[held["strategy"] == "model", "incremental_conversions"].iloc[0])
    raw = float(promise.table.iloc[-1]["raw_incremental_conversions"])
    return {
        "campaign": c,
        "contacts": plan.n_contacts,
        "truth": v,
        "promise": promise.incremental_conversions,
        "ci_low": lo,
        "ci_high": hi,
        "raw_promise": raw,
        "covered": float(lo <= v <= hi),
        "profit_truth": profit,
        "profit_promise": promise.profit,
        "profit_covered": float(plo <= profit <= phi),
        "held_out_estimate": held_value,
        "held_out_in_interval": float(lo <= held_value <= hi),
        "rows_sd": promise.rows_sd,
        "model_sd": promise.model_sd,
        "seconds": time.perf_counter() - t0,
    }


def main() -> None:
    """Run the campaigns and print one JSON line each, then the summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--campaigns", type=int, default=200)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--learner", default="t")
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--budget-share", type=float, default=0.3)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--seed0", type=int, default=1000)
    args = parser.parse_args()
    t0 = time.perf_counter()
    rows = []
    for c in range(args.campaigns):
        row = one_campaign(c, args)
        rows.append(row)
        print(json.dumps(row), flush=True)
    cov = np.array([r["covered"] for r in rows])
    p = float(cov.mean())
    summary = {
        "date": dt.date.today().isoformat(),
        "machine": f"{platform.machine()}, {platform.python_version()}",
        "args": vars(args),
        "coverage": p,
        "coverage_mc_se": math.sqrt(p * (1 - p) / len(rows)),
        "profit_coverage": float(np.mean([r["profit_covered"] for r in rows])),
        "below_interval": float(np.mean([r["truth"] < r["ci_low"] for r in rows])),
        "above_interval": float(np.mean([r["truth"] > r["ci_high"] for r in rows])),
        "promise_over_truth": float(np.mean([r["promise"] / r["truth"] for r in rows])),
        "raw_promise_over_truth": float(np.mean([r["raw_promise"] / r["truth"] for r in rows])),
        "width_over_truth": float(
            np.mean([(r["ci_high"] - r["ci_low"]) / r["truth"] for r in rows])
        ),
        "held_out_in_interval": float(np.mean([r["held_out_in_interval"] for r in rows])),
        "seconds_per_campaign": float(np.mean([r["seconds"] for r in rows])),
        "seconds": time.perf_counter() - t0,
    }
    print(json.dumps({"summary": summary}), flush=True)


if __name__ == "__main__":
    main()
