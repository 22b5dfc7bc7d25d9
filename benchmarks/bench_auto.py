"""``--learner auto`` vs hand-picked learners, and a plan's promise (real and simulated data).

Datasets: the Hillstrom e-mail RCT (``../shared/data/hillstrom.csv``, 64,000 customers, arms
Mens / Womens e-mail vs No E-Mail, pre-treatment features only: recency, history_segment,
history, mens, womens, zip_code, newbie, channel; outcome ``--outcome``) and the simulator
(:func:`uplift.simulate.simulate_campaign`, ``--sim-customers`` customers, outcome converted).

For each dataset, on one stratified 70/30 split (seed 0):

* every hand-picked learner (s, t, x, dr, r and, for a binary outcome, uplift_rf) at the CLI
  defaults (100 trees, learning rate 0.1, 31 leaves), calibrated like ``pathlift uplift train``;
* ``--learner auto``: 11 candidates (5 meta-learners x 2 LightGBM settings + the uplift forest),
  3 folds, pruning after the first fold, on the training rows only, then refitted and calibrated.

All are evaluated on the same held-out rows with the same 200 bootstrap replicates; reported
per model: the held-out Qini per arm and its mean over arms with intervals, the paired
difference auto - best hand-picked (mean Qini) with its interval, wall times (whole pipeline per
model, selection included for auto).

With ``--plan`` (Hillstrom, outcome conversion): the T-learner plan for value 10 per purchase and
cost 0.15 per e-mail over all held-out customers: the raw sum of predictions, the calibrated
promise with its interval, and the held-out estimate.

Usage::

    python benchmarks/bench_auto.py --dataset hillstrom --outcome visit
    python benchmarks/bench_auto.py --dataset simulator --sim-customers 40000
    python benchmarks/bench_auto.py --dataset hillstrom --outcome conversion --plan
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import time
from pathlib import Path

import numpy as np

from uplift import UpliftData, load_frame
from uplift.metrics import compare_evaluations
from uplift.promise import promise_plan
from uplift.simulate import simulate_campaign
from uplift.targeting import evaluate_targeting, plan_targeting
from uplift.workflow import train_and_evaluate

HILLSTROM = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "hillstrom.csv"
FEATURES = ["recency", "history_segment", "history", "mens", "womens", "zip_code", "newbie",
            "channel"]  # fmt: skip


def load(args: argparse.Namespace) -> UpliftData:
    """The dataset of ``args``."""
    if args.dataset == "hillstrom":
        return UpliftData.from_frame(
            load_frame(args.data),
            treatment_col="segment",
            control="No E-Mail",
            outcome_col=args.outcome,
            feature_cols=FEATURES,
        )
    return simulate_campaign(args.sim_customers, seed=args.sim_seed).uplift_data()


def summary_of(name: str, result, seconds: float) -> dict:
    """Held-out Qini per arm and mean with intervals."""
    ev = result.evaluation
    arms = list(ev.arms)
    qini = {a: [ev.value(a, "qini"), *ev.arms[a].intervals["qini"]] for a in arms}
    reps = np.mean([ev.arms[a].replicates["qini"] for a in arms], axis=0)
    lo, hi = np.percentile(reps, [2.5, 97.5])
    return {
        "model": name,
        "chosen": result.selection.best.name if result.selection else name,
        "qini": qini,
        "qini_mean": [float(np.mean([qini[a][0] for a in arms])), float(lo), float(hi)],
        "calibration_error": {a: ev.value(a, "calibration_error") for a in arms},
        "raw_calibration_error": dict(result.raw_calibration_error),
        "seconds": seconds,
    }


def main() -> None:
    """Run the comparison and print JSON lines."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=["hillstrom", "simulator"], default="hillstrom")
    parser.add_argument("--data", type=Path, default=HILLSTROM)
    parser.add_argument("--outcome", default="visit")
    parser.add_argument("--sim-customers", type=int, default=40_000)
    parser.add_argument("--sim-seed", type=int, default=7)
    parser.add_argument("--learners", default="s,t,x,dr,r,uplift_rf")
    parser.add_argument("--plan", action="store_true")
    args = parser.parse_args()
    data = load(args)
    head = {"date": dt.date.today().isoformat(), "machine": platform.machine(),
            "python": platform.python_version(), "data": repr(data)}  # fmt: skip
    print(json.dumps(head), flush=True)
    common = {"seed": 0, "n_bootstrap": 200}
    results = {}
    for name in args.learners.split(","):
        if name == "uplift_rf" and data.outcome_type != "binary":
            continue
        t0 = time.perf_counter()
        results[name] = train_and_evaluate(data, learner=name, **common)
        print(json.dumps(summary_of(name, results[name], time.perf_counter() - t0)), flush=True)
    t0 = time.perf_counter()
    auto = train_and_evaluate(data, learner="auto", **common)
    auto_seconds = time.perf_counter() - t0
    print(json.dumps({**summary_of("auto", auto, auto_seconds),
                      "selection_seconds": auto.seconds["selection"],
                      "candidates": json.loads(auto.selection.table.to_json(orient="records"))}),
          flush=True)  # fmt: skip
    best = max(
        results,
        key=lambda n: np.mean([results[n].evaluation.value(a, "qini") for a in data.arms]),
    )
    diff = compare_evaluations(auto.evaluation, results[best].evaluation)
    d = diff[diff["metric"] == "qini"]
    reps = np.mean(
        [
            auto.evaluation.arms[a].replicates["qini"]
            - results[best].evaluation.arms[a].replicates["qini"]
            for a in data.arms
        ],
        axis=0,
    )
    lo, hi = np.percentile(reps, [2.5, 97.5])
    print(json.dumps({"auto_minus_best_hand_picked": best,
                      "per_arm": json.loads(d.to_json(orient="records")),
                      "mean": [float(reps.mean()), float(lo), float(hi)]}), flush=True)  # fmt: skip
    if args.plan:
        from uplift.learners import uplift_frame

        res = results["t"]
        test, model = res.test, res.model
        economics = {"value_per_conversion": 10.0, "cost_per_contact": 0.15}
        # the case: the T-learner's own predictions, summed
        raw = uplift_frame(
            model.predict_uplift(test.features, calibrated=False), model.arms_, data.control
        )
        raw_plan = plan_targeting(raw, control=data.control, budget=len(test), **economics)
        raw_held = evaluate_targeting(raw_plan, test.outcome, test.treatment).to_frame().iloc[0]
        # the calibrated plan and its promise
        plan = plan_targeting(
            model.predict(test.features), control=data.control, budget=len(test), **economics
        )
        promise = promise_plan(model, plan, test.features, n_draws=1000)
        held = evaluate_targeting(plan, test.outcome, test.treatment, promise=promise)
        row = held.to_frame().iloc[0]
        out = {
            "raw_plan": {
                "contacts": raw_plan.n_contacts,
                "promised_conversions": raw_plan.expected_incremental_conversions,
                "promised_profit": raw_plan.expected_profit,
                "held_out": {k: _num(v) for k, v in raw_held.items()},
            },
            "calibrated_plan": {
                "contacts": plan.n_contacts,
                "promise": json.loads(promise.to_frame().to_json(orient="records")),
                "held_out": {k: _num(v) for k, v in row.items()},
            },
        }
        print(json.dumps(out), flush=True)


def _num(value: object) -> object:
    return float(value) if isinstance(value, int | float | np.number) else value


if __name__ == "__main__":
    main()
