"""The shared input checks: required columns, "did you mean" and values shown in messages."""

from __future__ import annotations

import numpy as np
import pytest

from attribution._validation import did_you_mean, require_columns, shown


class _Refused(ValueError):
    """A caller's domain error."""


def test_did_you_mean():
    assert did_you_mean("chanel", ["user", "channel"]) == "; did you mean 'channel'?"
    assert did_you_mean("zzz", ["user", "channel"]) == ""
    assert did_you_mean("zzz", ["user"], fallback="; valid: user") == "; valid: user"


def test_require_columns_names_column_choices_closest_option_and_flag():
    columns = ["user_id", "channel"]
    require_columns(columns, {"user_col": "user_id", "value_col": None}, error=_Refused)
    with pytest.raises(_Refused) as raised:
        require_columns(
            columns, {"user_col": "user_id", "channel_col": "chanel"}, error=_Refused, cli=True
        )
    assert str(raised.value) == (
        "required column 'chanel' is missing (available: 'user_id', 'channel'); did you mean "
        "'channel'?; pass channel_col=<name> (CLI: --channel-col) to use another column"
    )
    with pytest.raises(_Refused, match=r"^lift tests: required column 'x' is missing .*x_col="):
        require_columns(columns, {"x_col": "x"}, error=_Refused, what="lift tests")


def test_shown_unwraps_numpy_scalars_for_messages():
    assert repr(shown(np.int64(2))) == "2"
    assert shown("a") == "a"
