"""Numbers as a reader sees them: one formatting rule per kind of quantity, units attached.

Pure functions on Python/numpy scalars (no dataframe engine, no matplotlib), used by the
report's decision card, the result objects' HTML and text, and the plots' labels, so one
quantity prints the same way everywhere:

* p-values: four decimals, scientific below 0.001, floored at ``< 1e-300`` (a double
  underflows there: ``p = 0`` and ``p = 1.550e-316`` are artefacts, not evidence);
* counts: integers with thousands separators, never scientific (``1,064,102``);
* rates: a percentage, or "per 10,000" when the rate is below 1 % (``3.0 per 10,000``);
* differences of rates: percentage points or "per 10,000" with an explicit sign;
* quantities with units: ``3.19 ms``, ``$12,400``, ``14 days``.

``NaN``/``None`` print as an em dash everywhere (:data:`MISSING`).
"""

from __future__ import annotations

import math
import re
from typing import Any

#: how a missing or undefined number prints.
MISSING = "—"
#: smallest p-value printed as a number; below it the p-value is printed as ``< 1e-300``.
P_FLOOR = 1e-300
#: "per 10,000" in words (narrow no-break space is avoided: plain ASCII comma).
PER_10K = "per 10,000"


def _missing(x: Any) -> bool:
    if x is None:
        return True
    try:
        return math.isnan(float(x))
    except (TypeError, ValueError):
        return True


def sig(x: float, digits: int = 3) -> str:
    """``x`` to ``digits`` significant digits in plain positional notation (never ``e``).

    Thousands get separators; trailing zeros after the decimal point are kept only up to
    the significant digits (``sig(3.19378, 3) == "3.19"``, ``sig(0.000301, 2) == "0.00030"``).
    """
    if _missing(x):
        return MISSING
    x = float(x)
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    if x == 0:
        return "0"
    if digits < 1:
        raise ValueError(f"`digits` must be an integer >= 1; got {digits!r}.")
    magnitude = math.floor(math.log10(abs(x)))
    decimals = max(0, digits - 1 - magnitude)
    rounded = round(x, decimals)
    # rounding can carry into the next decade (9.996 -> 10.0): recompute the decimals
    if rounded != 0 and math.floor(math.log10(abs(rounded))) > magnitude:
        decimals = max(0, decimals - 1)
    text = f"{rounded:,.{decimals}f}"
    return text.replace("-", "−") if text.startswith("-") else text


def p_value(p: float) -> str:
    """A p-value as printed after ``p``: ``"0.6583"``, ``"0.0023"``, ``"3.2e-12"``, ``"< 1e-300"``.

    Values at or below :data:`P_FLOOR` (including an underflowed ``0``) print as
    ``"< 1e-300"``; use :func:`p_equals` for the ``p = …`` / ``p < …`` phrase.
    """
    if _missing(p):
        return MISSING
    p = float(p)
    if p < 0 or p > 1:
        raise ValueError(f"a p-value must be in [0, 1]; got {p!r}.")
    if p <= P_FLOOR:
        return "< 1e-300"
    if p >= 0.001:
        return f"{p:.4f}" if p < 1 else "1"
    mantissa, exponent = f"{p:.1e}".split("e")
    return f"{mantissa}e-{int(exponent[1:])}"


def p_equals(p: float) -> str:
    """``"p = 0.6583"`` or ``"p < 1e-300"``: the phrase, with the right relation sign."""
    text = p_value(p)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def count(n: float, unit: str | None = None) -> str:
    """An integer count with thousands separators, optionally followed by its unit.

    ``count(55898.0, "units") == "55,898 units"``; a non-integral value is rounded (counts
    of expected events may be fractional: they print rounded, never as ``5.59e+04``).
    """
    if _missing(n):
        return MISSING
    n = float(n)
    if math.isinf(n):
        return "∞" if n > 0 else "−∞"
    text = f"{round(n):,d}".replace("-", "−")
    return f"{text} {unit}" if unit else text


def percent(x: float, digits: int = 2) -> str:
    """A share or rate as a percentage to ``digits`` significant digits: ``"1.41 %"``."""
    if _missing(x):
        return MISSING
    return f"{sig(100.0 * float(x), digits)}%"


def per_10k(x: float, digits: int = 2) -> str:
    """A rate per 10,000: ``per_10k(0.0003) == "3.0 per 10,000"``."""
    if _missing(x):
        return MISSING
    return f"{sig(1e4 * float(x), digits)} {PER_10K}"


def rate(x: float, digits: int = 2) -> str:
    """A rate in the unit that reads best: % at or above 1 %, otherwise per 10,000."""
    if _missing(x):
        return MISSING
    return percent(x, digits) if abs(float(x)) >= 0.01 else per_10k(x, digits)


def signed(text: str, x: float) -> str:
    """Prefix ``text`` (the formatted ``|x|``) with ``+`` or ``−`` by the sign of ``x``."""
    if _missing(x):
        return MISSING
    if float(x) > 0:
        return f"+{text}"
    if float(x) < 0:
        return f"−{text.lstrip('−')}"
    return text


def rate_difference(d: float, digits: int = 2) -> str:
    """A difference of two rates with its sign: ``"+0.11 pp"`` at or above 0.1 percentage
    point, otherwise per 10,000 (``"−1.2 per 10,000"``)."""
    if _missing(d):
        return MISSING
    d = float(d)
    if abs(d) >= 0.001:
        return signed(f"{sig(abs(100.0 * d), digits)} pp", d)
    return signed(f"{sig(abs(1e4 * d), digits)} {PER_10K}", d)


def quantity(x: float, unit: str, digits: int = 3, *, sign: bool = False) -> str:
    """A number with its unit: ``quantity(3.194, "ms") == "3.19 ms"``.

    A unit of ``"$"`` (or another currency symbol) goes in front: ``"$1,240"``. With
    ``sign=True`` positive values get a ``+``.
    """
    if _missing(x):
        return MISSING
    x = float(x)
    body = sig(abs(x), digits)
    if unit in {"$", "€", "£"}:
        body = f"{unit}{body}"
    elif unit:
        body = f"{body} {unit}"
    if x < 0:
        return f"−{body}"
    return f"+{body}" if sign and x > 0 else body


def money(x: float, currency: str = "$", *, sign: bool = False) -> str:
    """A money amount, whole units above 100, 3 significant digits below: ``"$12,400"``."""
    if _missing(x):
        return MISSING
    digits = max(3, len(str(int(abs(float(x))))))
    return quantity(x, currency, digits, sign=sign)


def days(x: float) -> str:
    """A duration in days: ``"1 day"``, ``"14 days"``, ``"2.5 days"``, ``"< 1 day"``."""
    if _missing(x):
        return MISSING
    x = float(x)
    if 0 < x < 0.5:
        return "< 1 day"
    whole = abs(x - round(x)) < 0.05
    text = f"{round(x):,d}" if whole else sig(x, 2)
    return f"{text} day" if text == "1" else f"{text} days"


def interval(low: float, high: float, fmt: Any = sig) -> str:
    """``[low, high]`` with each bound formatted by ``fmt``."""
    return f"[{fmt(low)}, {fmt(high)}]"


def share_of(x: float, reference: float, digits: int = 2) -> str:
    """``x`` as a percentage of ``reference`` (e.g. an effect as % of control)."""
    if _missing(x) or _missing(reference) or float(reference) == 0:
        return MISSING
    return percent(float(x) / float(reference), digits)


# ----------------------------------------------------------------------------------------
# Checks a rendered report must pass (used by the tests on every rendered report)
# ----------------------------------------------------------------------------------------
_P_ZERO = re.compile(r"\bp\s*=\s*0(?![.\d])")
_P_UNDERFLOW = re.compile(r"\bp\s*=\s*\d(?:\.\d+)?e-(\d{3,})")
_SCI = re.compile(r"(?<![\w.])[−-]?\d(?:\.\d+)?e[+-]?\d+\b")


def defects(text: str) -> list[str]:
    """Formatting defects in report text: ``p = 0``, p-values below :data:`P_FLOOR` printed
    as numbers, and numbers in scientific notation with a positive exponent (counts and
    amounts must print as integers with separators). Returns the offending snippets."""
    found = [m.group(0) for m in _P_ZERO.finditer(text)]
    found += [m.group(0) for m in _P_UNDERFLOW.finditer(text) if int(m.group(1)) > 300]
    found += [m.group(0) for m in _SCI.finditer(text) if "e+" in m.group(0) or "e0" in m.group(0)]
    return found
