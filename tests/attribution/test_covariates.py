"""User tables of pre-exposure covariates and journeys that carry their users."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from attribution import Journeys
from attribution.covariates import UserCovariates
from attribution.engines import journeys_from_events
from attribution.errors import AttributionWarning, InvalidCovariatesError

EVENTS = pd.DataFrame(
    {
        "user_id": [1, 1, 1, 2, 2, 3, 4],
        "timestamp": [1, 2, 3, 1, 2, 5, 7],
        "channel": ["a", "b", None, "b", "a", None, "a"],
        "conversion": [0, 0, 1, 0, 0, 1, 0],
        "value": [0, 0, 10.0, 0, 0, 4.0, 0],
    }
)
USERS = pd.DataFrame(
    {
        "user_id": [1, 2, 3, 4, 5],
        "tenure": [1.0, 2.5, np.nan, 4.0, 0.5],
        "segment": ["gold", "silver", "gold", None, "bronze"],
    }
)


def test_a_user_table_is_validated_and_encoded():
    users = UserCovariates.from_frame(USERS)
    assert users.names == ("tenure", "segment")
    assert users.schema.kinds == ("numeric", "categorical")
    assert users.schema.categories["segment"] == ("bronze", "gold", "silver")
    matrix = users.matrix()
    np.testing.assert_array_equal(matrix[:, 0], [1.0, 2.5, np.nan, 4.0, 0.5])
    np.testing.assert_array_equal(matrix[:, 1], [1.0, 2.0, 1.0, np.nan, 0.0])
    assert users.positions(np.array([4, 9, 1])).tolist() == [3, -1, 0]
    # keys read as text on one side and numbers on the other still match
    assert users.positions(np.array(["2", "5"], dtype=object)).tolist() == [1, 4]
    assert "5 users" in repr(users)


def test_user_table_from_csv_with_chosen_columns(tmp_path):
    path = tmp_path / "users.csv"
    USERS.rename(columns={"user_id": "customer"}).to_csv(path, index=False)
    users = UserCovariates.from_frame(path, user_col="customer", covariate_cols=["tenure"])
    assert users.names == ("tenure",)
    assert users.user_col == "customer"


@pytest.mark.parametrize(
    ("frame", "kwargs", "message"),
    [
        (USERS.drop(columns="user_id"), {}, r"user table: required column 'user_id'"),
        (USERS, {"user_col": "user"}, r"did you mean 'user_id'"),
        (USERS.iloc[:0], {}, "header but no rows"),
        (USERS[["user_id"]], {}, "no covariate columns"),
        (USERS, {"covariate_cols": ["tenur"]}, r"column 'tenur' is missing.*covariate"),
        (USERS, {"covariate_cols": ["user_id"]}, "cannot also be a covariate"),
        (USERS.assign(user_id=[1, 2, 2, 4, 5]), {}, r"user 2 appears more than once \(row 2\)"),
        (USERS.assign(user_id=[1, None, 3, 4, 5]), {}, "missing user id at row 1"),
        (USERS.assign(tenure=[1, np.inf, 2, 3, 4]), {}, "infinite value at row 1"),
        (USERS.assign(tenure=np.nan), {}, "'tenure' is missing on every row"),
        (USERS.assign(segment=1.0, tenure=2.0), {}, "every covariate column is constant"),
        (
            pd.DataFrame({"user_id": range(50), "email": [f"u{i}@x" for i in range(50)]}),
            {},
            "it is an identifier",
        ),
    ],
)
def test_bad_user_tables_are_refused(frame, kwargs, message):
    with pytest.raises(InvalidCovariatesError, match=message):
        UserCovariates.from_frame(frame, **kwargs)


def test_a_constant_column_is_dropped_with_a_warning():
    with pytest.warns(AttributionWarning, match="'flag' have a single value"):
        users = UserCovariates.from_frame(USERS.assign(flag=1))
    assert users.dropped == ("flag",)
    assert "flag" not in users.names


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_journeys_carry_their_users_and_untouched_conversions(engine):
    journeys = journeys_from_events(
        EVENTS, engine=engine, **({"keep_timing": True} if engine == "duckdb" else {})
    )
    timing = journeys.timing
    assert timing is not None and timing.user is not None
    by_user = sorted(zip(timing.user.tolist(), timing.converted.tolist(), strict=True))
    # user 1: a > b then a conversion; user 2: b > a, no conversion; user 4: a, no conversion
    assert by_user == [(1, True), (2, False), (4, False)]
    # user 3 converted without any touch
    assert timing.untouched_user.tolist() == [3]
    assert timing.untouched_value.tolist() == [4.0]
    with_users = journeys.with_users(USERS)
    assert with_users.users is not None and with_users.users.n_users == 5


def test_every_user_of_the_log_needs_a_row():
    journeys = Journeys.from_events(EVENTS)
    with pytest.raises(InvalidCovariatesError, match=r"1 user\(s\) of the event log \(journeys\)"):
        journeys.with_users(USERS[USERS["user_id"] != 4])
    with pytest.raises(InvalidCovariatesError, match=r"conversions without touches\) .* e.g. 3"):
        journeys.with_users(USERS[USERS["user_id"] != 3])
    users = UserCovariates.from_frame(USERS)
    with pytest.raises(InvalidCovariatesError, match="apply to a user table"):
        journeys.with_users(users, user_col="user_id")


def test_path_tables_and_spark_like_journeys_have_no_users():
    paths = Journeys.from_paths(Journeys.from_events(EVENTS).to_path_table())
    with pytest.raises(InvalidCovariatesError, match="a path table carries no user ids"):
        paths.with_users(USERS)
    no_timing = journeys_from_events(EVENTS, engine="duckdb")
    with pytest.raises(InvalidCovariatesError, match="these journeys carry no user ids"):
        no_timing.with_users(USERS)
