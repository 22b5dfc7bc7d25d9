from __future__ import annotations

import matplotlib.pyplot as plt
import pytest

from uplift import (
    InvalidUpliftOptionError,
    evaluate_uplift,
    plot_calibration,
    plot_gain,
    plot_qini,
)


def test_plots_return_axes_with_model_and_random_lines(data, fitted_t):
    ev = evaluate_uplift(
        fitted_t.predict(data.features), data.outcome, data.treatment, "ctl", n_bootstrap=20
    )
    ax = plot_qini(ev)
    assert len(ax.get_lines()) == 2 * 2 + 1  # model + random per arm, zero line
    assert "Qini" in ax.get_title()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[0].startswith("A (qini")
    _fig, ax2 = plt.subplots()
    assert plot_gain(ev, arms=["B"], ax=ax2) is ax2
    x, _y = ax2.get_lines()[0].get_data()
    assert x[0] == 0 and x[-1] == 1
    with pytest.raises(InvalidUpliftOptionError, match="no arm 'Z'"):
        plot_qini(ev, arms=["Z"])
    plt.close("all")


def test_calibration_plot_has_one_point_per_bin_and_the_diagonal(data, fitted_t):
    ev = evaluate_uplift(
        fitted_t.predict(data.features), data.outcome, data.treatment, "ctl", n_bootstrap=20
    )
    ax = plot_calibration(ev, arms=["A"])
    x, y = ax.get_lines()[0].get_data()
    dec = ev.arms["A"].deciles
    assert list(x) == pytest.approx(dec["mean_predicted_uplift"].tolist())
    assert list(y) == pytest.approx(dec["observed_uplift"].tolist())
    dx, dy = ax.get_lines()[-2].get_data()  # the diagonal (the last line is y = 0)
    assert list(dx) == list(dy)
    assert "calibration error" in ax.get_legend().get_texts()[0].get_text()
    with pytest.raises(InvalidUpliftOptionError, match="no arm 'Z'"):
        plot_calibration(ev, arms=["Z"])
    plt.close("all")
