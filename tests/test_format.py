"""Number formatting: one rule per kind of quantity (mlopskit._format)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mlopskit import _format as f


@pytest.mark.parametrize(
    ("p", "text"),
    [
        (0.6583256123261954, "0.6583"),
        (0.002291, "0.0023"),
        (0.001, "0.0010"),
        (1.0, "1"),
        (1.392e-150, "1.4e-150"),
        (9.96e-5, "1.0e-4"),
        (0.0, "< 1e-300"),  # an underflowed p-value is not evidence of p = 0
        (1.55e-316, "< 1e-300"),  # subnormal double: below the floor
        (1e-300, "< 1e-300"),
        (float("nan"), f.MISSING),
        (None, f.MISSING),
    ],
)
def test_p_value(p: float, text: str) -> None:
    assert f.p_value(p) == text


def test_p_equals_uses_the_right_relation() -> None:
    assert f.p_equals(0.0) == "p < 1e-300"
    assert f.p_equals(0.6583) == "p = 0.6583"
    assert f.p_equals(np.float64(2e-12)) == "p = 2.0e-12"


def test_p_value_outside_unit_interval_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"p-value must be in \[0, 1\]; got 1.5"):
        f.p_value(1.5)


@pytest.mark.parametrize(
    ("n", "unit", "text"),
    [
        (55910.0, None, "55,910"),
        (1064102, "units", "1,064,102 units"),
        (np.int64(5), "days", "5 days"),
        (5.4840e4, None, "54,840"),
        (-1200.4, None, "−1,200"),
        (float("nan"), "units", f.MISSING),
    ],
)
def test_count_is_an_integer_with_separators(n: float, unit: str | None, text: str) -> None:
    assert f.count(n, unit) == text


@pytest.mark.parametrize(
    ("x", "digits", "text"),
    [
        (3.193784371833843, 3, "3.19"),
        (0.000301326, 2, "0.00030"),
        (9.996, 3, "10.0"),
        (12345.6, 3, "12,346"),
        (-0.0001204, 2, "−0.00012"),
        (0.0, 3, "0"),
        (float("inf"), 3, "∞"),
    ],
)
def test_sig_never_uses_scientific_notation(x: float, digits: int, text: str) -> None:
    assert f.sig(x, digits) == text
    assert "e" not in f.sig(x, digits)


def test_rates_pick_percent_or_per_10k() -> None:
    assert f.rate(0.014078) == "1.4%"
    assert f.rate(0.003001) == "30 per 10,000"
    assert f.percent(0.0005179, 2) == "0.052%"
    assert f.per_10k(0.0003013) == "3.0 per 10,000"


def test_rate_differences_carry_their_sign() -> None:
    assert f.rate_difference(-0.0001204) == "−1.2 per 10,000"
    assert f.rate_difference(0.0003013) == "+3.0 per 10,000"
    assert f.rate_difference(0.0059) == "+0.59 pp"
    assert f.rate_difference(0.0) == "0 per 10,000"


def test_quantities_carry_their_units() -> None:
    assert f.quantity(3.193784, "ms") == "3.19 ms"
    assert f.quantity(3.193784, "ms", sign=True) == "+3.19 ms"
    assert f.quantity(-2.5, "ms") == "−2.50 ms"
    assert f.money(12403.7) == "$12,404"
    assert f.money(-12.345) == "−$12.3"
    assert f.money(1500.0, sign=True) == "+$1,500"
    assert f.days(14) == "14 days"
    assert f.days(1.0) == "1 day"
    assert f.days(75.99998842592592) == "76 days"
    assert f.days(1.157e-05) == "< 1 day"
    assert f.days(2.5) == "2.5 days"


def test_interval_and_share_of() -> None:
    assert f.interval(-0.0008284, 0.0004059, f.rate_difference) == (
        "[−8.3 per 10,000, +4.1 per 10,000]"
    )
    assert f.share_of(0.0005, 0.003001) == "17%"
    assert f.share_of(1.0, 0.0) == f.MISSING


def test_defects_find_what_the_issue_lists() -> None:
    text = "p = 0 and p = 1.550e-316, n 5.591e+04, p = 0.6583, p = 1.4e-150, p = 0.0 fine?"
    found = f.defects(text)
    assert "p = 0" in found and "p = 1.550e-316" in found and "5.591e+04" in found
    assert len(found) == 3  # "p = 0.0" is a decimal, "1.4e-150" a legitimate small p-value
    assert f.defects("p < 1e-300; 1,064,102 units; 3.19 ms") == []


def test_formatters_are_total_on_missing_values() -> None:
    for fn in (f.sig, f.p_value, f.count, f.percent, f.per_10k, f.rate, f.rate_difference, f.days):
        assert fn(math.nan) == f.MISSING
        assert fn(None) == f.MISSING
    assert f.quantity(None, "ms") == f.MISSING
    assert f.money(None) == f.MISSING
