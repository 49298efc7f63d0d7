"""Row reconciliation: how many rows an analysis read, used, and dropped for which reason.

Every result carries a :class:`RowCounts` (``result.rows``): ``read = used + Σ dropped`` is
checked on construction, so a result cannot lose rows without saying where they went. The
counts come from the same pass over the data as the statistics (no extra scan). Breakdowns
per arm or per window are ``by`` (each one reconciles on its own).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class RowCounts:
    """Rows read, used and dropped by reason (``read == used + sum(dropped)``).

    Attributes
    ----------
    read : rows of the input the analysis looked at (after validation; a contract
        violation is an error, never a drop).
    used : rows that entered the statistics.
    dropped : ``(reason, rows)`` pairs, e.g. ``("after as_of", 12)``; zero counts omitted.
    by : ``(label, RowCounts)`` breakdowns, e.g. per arm (``"control"``) or per window.
    unit : what a row is (``"rows"``, ``"units"``, ``"requests"``…), for display.
    """

    read: int
    used: int
    dropped: tuple[tuple[str, int], ...] = ()
    by: tuple[tuple[str, RowCounts], ...] = ()
    unit: str = "rows"

    def __post_init__(self) -> None:
        total = self.used + sum(k for _, k in self.dropped)
        if self.read != total or self.used < 0 or any(k < 0 for _, k in self.dropped):
            raise ValueError(
                f"row counts do not reconcile: read {self.read:,} ≠ used {self.used:,} + "
                f"dropped {dict(self.dropped)}."
            )

    @classmethod
    def of(
        cls,
        read: int,
        dropped: Mapping[str, int] | Iterable[tuple[str, int]] = (),
        *,
        by: Mapping[str, RowCounts] | None = None,
        unit: str = "rows",
    ) -> RowCounts:
        """``used`` derived as ``read − Σ dropped``; zero-count reasons are left out."""
        items = dropped.items() if isinstance(dropped, Mapping) else dropped
        drops = tuple((str(r), int(k)) for r, k in items if int(k))
        return cls(
            read=int(read),
            used=int(read) - sum(k for _, k in drops),
            dropped=drops,
            by=tuple((by or {}).items()),
            unit=unit,
        )

    @property
    def n_dropped(self) -> int:
        return sum(k for _, k in self.dropped)

    def dropped_for(self, reason: str) -> int:
        return sum(k for r, k in self.dropped if r == reason)

    def __add__(self, other: RowCounts) -> RowCounts:
        reasons = dict(self.dropped)
        for r, k in other.dropped:
            reasons[r] = reasons.get(r, 0) + k
        return RowCounts.of(self.read + other.read, reasons, unit=self.unit)

    def summary(self) -> str:
        """One line, e.g. ``read 1,000 rows; used 990; dropped 10 (after as_of 10)``."""
        line = f"read {self.read:,} {self.unit}; used {self.used:,}"
        if self.dropped:
            why = ", ".join(f"{r} {k:,}" for r, k in self.dropped)
            line += f"; dropped {self.n_dropped:,} ({why})"
        else:
            line += "; dropped 0"
        if self.by:
            parts = []
            for label, rc in self.by:
                part = f"{label}: used {rc.used:,} of {rc.read:,}"
                if rc.dropped:
                    part += " (" + ", ".join(f"{r} {k:,}" for r, k in rc.dropped) + ")"
                parts.append(part)
            line += " — " + "; ".join(parts)
        return line

    def to_dict(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "used": self.used,
            "dropped": dict(self.dropped),
            "unit": self.unit,
            "by": {label: rc.to_dict() for label, rc in self.by},
        }

    def __repr__(self) -> str:
        return f"RowCounts({self.summary()})"
