"""The OEE formula, alone."""

import pytest

from app.services.oee import OeeInputs, compute_oee


def test_textbook_example():
    # 8 h planned, 1 h down, 1 s ideal cycle, 20 000 parts of which 19 000 good.
    result = compute_oee(OeeInputs(28800, 3600, 1.0, 20000, 19000))
    assert result.availability == pytest.approx(0.875)
    assert result.performance == pytest.approx(20000 / 25200)
    assert result.quality == pytest.approx(0.95)
    assert result.oee == pytest.approx(0.875 * 20000 / 25200 * 0.95)


def test_no_production_is_zero_not_an_error():
    result = compute_oee(OeeInputs(3600, 0, 1.0, 0, 0))
    assert (result.availability, result.performance, result.quality, result.oee) == (1.0, 0.0, 0.0, 0.0)


def test_downtime_covering_the_whole_period():
    assert compute_oee(OeeInputs(3600, 3600, 1.0, 10, 10)).oee == 0.0


def test_ratios_are_capped_at_one():
    result = compute_oee(OeeInputs(100, 0, 10.0, 50, 50))  # ideal time says 500 s of work in 100 s
    assert result.performance == 1.0
    assert result.oee == 1.0


def test_empty_period():
    assert compute_oee(OeeInputs(0, 0, 1.0, 5, 5)).oee == 0.0
