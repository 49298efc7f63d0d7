"""Feature-parity gate: recomputed vs training features (see :mod:`mlopskit.registry.gates`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlopskit import _display, frames
from mlopskit.policy import Policy, RegistryPolicy, as_policy
from mlopskit.registry.gates.base import (
    FEATURE_PARITY,
    _Gate,
    _head,
)
from mlopskit.registry.records import parse_model
from mlopskit.rows import RowCounts
from mlopskit.verdict import Reason


# --------------------------------------------------------------------------------------
# Feature parity
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class FeatureParity:
    """Parity of one feature: rows compared, mismatches, largest absolute difference."""

    feature: str
    kind: str
    n_compared: int
    n_mismatch: int
    max_abs_diff: float | None


@dataclass(frozen=True, slots=True)
class ParityGateResult(_Gate):
    """Feature parity between recomputed (from raw events) and training features.

    Attributes
    ----------
    features : per-feature :class:`FeatureParity`.
    examples : up to ``max_examples`` mismatching rows per feature, as tuples
        ``(feature, key, training value, recomputed value)``.
    missing_in_recomputed / missing_in_training : ``(count, example keys)`` of rows present
        on one side only (a recompute that drops rows fails the gate).
    schema_problems : features missing from the recomputed frame or with another dtype.
    key, atol, rtol : how rows were matched and the tolerance ``|r − t| ≤ atol + rtol·|t|``.
    row_counts : rows read on both sides, used (their key is on the other side) and left
        out as unmatched, per side in ``by`` (``"training"``, ``"recomputed"``); a row whose
        key has no partner is also a failed ``parity_rows`` check.
    """

    model: str
    passed: bool
    reasons: tuple[Reason, ...]
    features: tuple[FeatureParity, ...]
    examples: tuple[tuple[str, Any, Any, Any], ...]
    missing_in_recomputed: tuple[int, tuple[Any, ...]]
    missing_in_training: tuple[int, tuple[Any, ...]]
    schema_problems: tuple[str, ...]
    n_training: int
    n_recomputed: int
    key: tuple[str, ...]
    atol: float
    rtol: float
    warnings: tuple[str, ...] = ()
    gate: str = FEATURE_PARITY
    row_counts: RowCounts | None = None

    def to_frame(self) -> pd.DataFrame:
        """One row per feature: feature, kind, n_compared, n_mismatch, share_mismatch, max_abs_diff."""
        df = pd.DataFrame(
            [
                {
                    "feature": f.feature,
                    "kind": f.kind,
                    "n_compared": f.n_compared,
                    "n_mismatch": f.n_mismatch,
                    "share_mismatch": f.n_mismatch / f.n_compared if f.n_compared else np.nan,
                    "max_abs_diff": np.nan if f.max_abs_diff is None else f.max_abs_diff,
                }
                for f in self.features
            ],
            columns=[
                "feature",
                "kind",
                "n_compared",
                "n_mismatch",
                "share_mismatch",
                "max_abs_diff",
            ],
        )
        return df

    def diff_frame(self) -> pd.DataFrame:
        """The mismatching example rows: feature, key, training, recomputed."""
        return pd.DataFrame(
            list(self.examples), columns=["feature", "key", "training", "recomputed"]
        )

    def summary(self) -> str:
        bad = [f for f in self.features if f.n_mismatch]
        n_joined = self.features[0].n_compared if self.features else 0
        lines = [
            _head(self.passed, self.gate, self.model)
            + f": {len(bad)} of {len(self.features)} features differ on {n_joined:,} "
            f"matched rows (tolerance |recomputed − training| ≤ {self.atol:g} + "
            f"{self.rtol:g}·|training|)"
        ]
        if self.row_counts is not None:
            lines.append(f"  rows: {self.row_counts.summary()}")
        key = ",".join(self.key)
        for f in bad:
            share = f.n_mismatch / f.n_compared if f.n_compared else float("nan")
            extra = f", max |diff| {f.max_abs_diff:.6g}" if f.max_abs_diff is not None else ""
            lines.append(f"  {f.feature}: {f.n_mismatch:,} rows differ ({share:.2%}){extra}")
            for feat, k, t, r in self.examples:
                if feat == f.feature:
                    lines.append(f"      {key}={k!r}: training={t!r}  recomputed={r!r}")
        for p in self.schema_problems:
            lines.append(f"  schema: {p}")
        for side, (n, ex) in (
            ("training rows have no recomputed row", self.missing_in_recomputed),
            ("recomputed rows are not in training", self.missing_in_training),
        ):
            if n:
                lines.append(f"  {n:,} {side}, e.g. {key}={list(ex)}")
        return "\n".join(lines)

    def _details(self) -> dict[str, Any]:
        return {
            "features": [
                {"feature": f.feature, "n_mismatch": f.n_mismatch, "max_abs_diff": f.max_abs_diff}
                for f in self.features
            ],
            "missing_in_recomputed": self.missing_in_recomputed[0],
            "missing_in_training": self.missing_in_training[0],
            "schema_problems": list(self.schema_problems),
            "atol": self.atol,
            "rtol": self.rtol,
            "row_counts": None if self.row_counts is None else self.row_counts.to_dict(),
        }

    def _repr_html_(self) -> str:
        html = self._banner("Feature parity") + _display.table_html(self.to_frame())
        if self.examples:
            html += _display.table_html(self.diff_frame(), caption="Mismatching rows")
        return html

    def plot(self, ax: Any = None) -> Any:
        """Share of mismatching rows per feature."""
        from mlopskit import plots

        return plots.parity_gate(self, ax=ax)


def feature_parity_gate(
    model: str,
    recomputed: frames.FrameLike,
    training: frames.FrameLike,
    *,
    key: str | Sequence[str],
    features: Sequence[str],
    atol: float | None = None,
    rtol: float | None = None,
    max_examples: int = 5,
    columns: Mapping[str, str] | None = None,
    policy: Policy | str | Path | None = None,
) -> ParityGateResult:
    """Features recomputed from raw events must equal the features used in training.

    Rows are matched on ``key``; numeric features within ``atol + rtol·|training|`` (both
    missing counts as equal), other features exactly (compared as strings). Fails on any
    mismatch, any row present on one side only, or a feature missing/with another dtype.
    ``columns`` maps a key or feature name to the column holding it in both frames.
    """
    pol = as_policy(policy).section("registry", RegistryPolicy)
    parse_model(model)
    keys = (key,) if isinstance(key, str) else tuple(key)
    if not keys:
        raise ValueError("`key` must name at least one column.")
    feats = tuple(features)
    if not feats:
        raise ValueError("`features` must name at least one feature column.")
    accepted = {*keys, *feats}
    recomputed = frames.rename_columns(recomputed, columns, accepted, frame="recomputed")
    training = frames.rename_columns(training, columns, accepted, frame="training")
    atol = pol.parity_atol if atol is None else float(atol)
    rtol = pol.parity_rtol if rtol is None else float(rtol)
    if atol < 0 or rtol < 0:
        raise ValueError(f"`atol` and `rtol` must be ≥ 0; got {atol!r}, {rtol!r}.")
    st = frames.feature_parity_stats(
        recomputed,
        training,
        key=keys,
        features=feats,
        atol=atol,
        rtol=rtol,
        max_examples=max_examples,
    )
    n_joined = st["n_joined"]
    per = tuple(
        FeatureParity(r["feature"], r["kind"], n_joined, r["n_mismatch"], r["max_abs_diff"])
        for r in st["features"]
    )
    ex = st["examples"]
    key_vals = (
        ex[keys[0]].tolist() if len(keys) == 1 else list(ex[list(keys)].itertuples(False, None))
    )
    examples = tuple(
        (f, k, _py(t), _py(r))
        for f, k, t, r in zip(
            ex["feature"], key_vals, ex["training"], ex["recomputed"], strict=True
        )
    )
    reasons: list[Reason] = []
    for f in per:
        if f.n_mismatch:
            reasons.append(
                Reason(
                    f"parity_{f.feature}",
                    f"{f.feature}: {f.n_mismatch:,} of {f.n_compared:,} rows differ",
                    False,
                    float(f.n_mismatch),
                    0.0,
                    critical=True,
                )
            )
    for p in st["schema_problems"]:
        reasons.append(Reason("parity_schema", p, False, critical=True))
    for side in ("training", "recomputed"):
        n_dup, ex_dup = st.get(f"duplicated_in_{side}", (0, []))
        if n_dup:
            reasons.append(
                Reason(
                    "parity_keys",
                    f"{n_dup:,} duplicate rows in the {side} features share a key with another "
                    f"row (e.g. {ex_dup}); rows must be unique by `key` to be compared",
                    False,
                    float(n_dup),
                    0.0,
                    critical=True,
                )
            )
    n_mr, ex_mr = st["missing_in_recomputed"]
    n_mt, ex_mt = st["missing_in_training"]
    if n_mr:
        reasons.append(
            Reason(
                "parity_rows",
                f"{n_mr:,} training rows have no recomputed row",
                False,
                float(n_mr),
                0.0,
                critical=True,
            )
        )
    if n_mt:
        reasons.append(
            Reason(
                "parity_rows",
                f"{n_mt:,} recomputed rows are not in training",
                False,
                float(n_mt),
                0.0,
                critical=True,
            )
        )
    warnings: tuple[str, ...] = ()
    if n_joined == 0:
        reasons.append(Reason("parity_rows", "no rows matched on the key", False, critical=True))
    if not reasons:
        reasons.append(
            Reason(
                "parity",
                f"all {len(per)} features equal on {n_joined:,} rows within tolerance",
                True,
                0.0,
                0.0,
            )
        )
    return ParityGateResult(
        model=model,
        passed=all(r.passed for r in reasons),
        reasons=tuple(reasons),
        features=per,
        examples=examples,
        missing_in_recomputed=(n_mr, tuple(ex_mr)),
        missing_in_training=(n_mt, tuple(ex_mt)),
        schema_problems=tuple(st["schema_problems"]),
        n_training=st["n_training"],
        n_recomputed=st["n_recomputed"],
        key=keys,
        atol=atol,
        rtol=rtol,
        warnings=warnings,
        row_counts=_parity_rows(st["n_training"], n_mr, st["n_recomputed"], n_mt),
    )


def _parity_rows(n_training: int, n_mr: int, n_recomputed: int, n_mt: int) -> RowCounts:
    """Rows per side: used = its key is on the other side (anti-join counts, same pass)."""
    no_rec, no_train = "key not in the recomputed features", "key not in the training features"
    sides = {
        "training": RowCounts.of(n_training, {no_rec: n_mr}),
        "recomputed": RowCounts.of(n_recomputed, {no_train: n_mt}),
    }
    return RowCounts.of(n_training + n_recomputed, {no_rec: n_mr, no_train: n_mt}, by=sides)


def _py(value: Any) -> Any:
    """numpy/pandas scalars → plain Python; missing → ``None`` (readable reprs, JSON)."""
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):  # non-scalar values: keep as they are
        pass
    return value.item() if hasattr(value, "item") else value
