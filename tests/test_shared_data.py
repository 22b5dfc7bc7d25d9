"""The ``shared_data`` fixture: real data sets are skipped when absent, except under CI."""

from __future__ import annotations

import pytest

import tests.conftest as suite


def test_present_file_is_returned(shared_data, tmp_path, monkeypatch):
    monkeypatch.setattr(suite, "SHARED_DATA", tmp_path)
    (tmp_path / "data.csv").write_text("a\n1\n")
    assert shared_data("data.csv") == tmp_path / "data.csv"


def test_absent_file_skips_outside_ci(shared_data, tmp_path, monkeypatch):
    monkeypatch.setattr(suite, "SHARED_DATA", tmp_path)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="not found"):
        shared_data("hillstrom.csv")


def test_absent_file_fails_under_ci(shared_data, tmp_path, monkeypatch):
    monkeypatch.setattr(suite, "SHARED_DATA", tmp_path)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true but the shared data set"):
        shared_data("hillstrom.csv")
