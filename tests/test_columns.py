"""``columns=`` on every public function that reads a frame (issue 16, Build 5).

Table-driven over ``mlopskit.__all__``: each frame-reading function gives the same result
on a frame whose columns all carry other names plus ``columns=`` (canonical → user name) as
on the canonical frame; an unknown key is an error naming the accepted keys; a column named
twice (keyword and ``columns``) is an error.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from test_bad_inputs import (
    AS_OF,
    FEATS,
    REF_PERIOD,
    _Scorer,
    canary,
    features,
    quality_set,
    scored,
    shadow,
)

import mlopskit as mk
from mlopskit.monitoring import service_health

#: the positional parameters that hold a frame, by name.
FRAME_PARAMS = {
    "events",
    "scored",
    "scores",
    "reference",
    "current",
    "canary_log",
    "shadow_log",
    "test_set",
    "recomputed",
    "training",
    "requests",
    "log",
}
#: public functions whose frame argument is not a frame of columns (with the reason).
NOT_FRAME_READERS = {
    "psi": "takes two arrays of values, no columns to map",
}


def _u(df: pd.DataFrame) -> pd.DataFrame:
    """Every column renamed ``c`` → ``u_c`` (the user's names)."""
    return df.rename(columns={c: f"u_{c}" for c in df.columns})


def _cols(keys: list[str]) -> dict[str, str]:
    return {k: f"u_{k}" for k in keys}


def _service() -> pd.DataFrame:
    rng = np.random.default_rng([16, 1])
    n = 5000
    ts = AS_OF - pd.to_timedelta(rng.uniform(0, 8, n), unit="D")
    return pd.DataFrame(
        {
            "ts": ts,
            "latency_ms": rng.lognormal(3, 0.4, n),
            "error": (rng.random(n) < 0.01).astype(int),
        }
    ).sort_values("ts", ignore_index=True)


def _parity_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng([16, 2])
    n = 500
    train = pd.DataFrame(
        {"request_id": np.arange(n), "amount": rng.lognormal(3, 1, n), "country": "US"}
    )
    rec = train.copy()
    rec.loc[::50, "amount"] += 1.0  # some mismatches, so the result has content
    return rec, train


class _UScorer(_Scorer):
    def score(self, frame: Any) -> np.ndarray:
        return super().score(pd.DataFrame({"x": np.asarray(frame["u_x"], dtype=float)}))


SHADOW_KEYS = [
    "request_id", "ts", "score_champion", "score_challenger", "latency_ms_champion",
    "latency_ms_challenger", "error_champion", "error_challenger", "channel",
]  # fmt: skip
CANARY_KEYS = list(canary().columns)
EVENT_KEYS = ["ts", "score", "label", "label_ts"]

# name → call(transform, columns): the same call on canonical (identity, None) and on
# renamed frames (``_u``, mapping).
Call = Callable[[Callable[[pd.DataFrame], pd.DataFrame], dict[str, str] | None], Any]
CALLS: dict[str, tuple[Call, list[str]]] = {
    "profile": (
        lambda t, c: mk.profile(t(features("reference")), features=FEATS, ts="ts", columns=c),
        [*FEATS, "ts"],
    ),
    "psi_table": (
        lambda t, c: mk.psi_table(
            t(features("reference")), t(features("current")), features=FEATS, columns=c
        ),
        FEATS,
    ),
    "psi_over_time": (
        lambda t, c: mk.psi_over_time(
            t(features("reference")), t(features("current")), features=FEATS, columns=c
        ),
        [*FEATS, "ts"],
    ),
    "output_drift": (
        lambda t, c: mk.output_drift(
            t(scored()), reference_period=REF_PERIOD, window="7D", as_of=AS_OF, columns=c
        ),
        ["ts", "score"],
    ),
    "outcome_drift": (
        lambda t, c: mk.outcome_drift(
            t(scored()), reference_period=REF_PERIOD, as_of=AS_OF, window="14D", columns=c
        ),
        EVENT_KEYS,
    ),
    "label_maturity": (
        lambda t, c: mk.label_maturity(t(scored()), as_of=AS_OF, score="score", columns=c),
        EVENT_KEYS,
    ),
    "drift_vs_label_lag": (
        lambda t, c: mk.drift_vs_label_lag(t(scored()), as_of=AS_OF, columns=c),
        EVENT_KEYS,
    ),
    "canary_test": (
        lambda t, c: mk.canary_test(t(canary()), as_of=AS_OF, columns=c),
        CANARY_KEYS,
    ),
    "canary_history": (
        lambda t, c: mk.canary_history(t(canary()), as_of=AS_OF, columns=c),
        CANARY_KEYS,
    ),
    "shadow_profile": (
        lambda t, c: mk.shadow_profile(t(shadow()), threshold=0.3, segments=["channel"], columns=c),
        SHADOW_KEYS,
    ),
    "model_quality_gate": (
        lambda t, c: mk.model_quality_gate(
            "fraud_v9",
            t(quality_set()),
            scorer=_Scorer() if c is None else _UScorer(),
            thresholds={"auc": 0.6},
            columns=c,
        ),
        ["label"],
    ),
    "feature_parity_gate": (
        lambda t, c: mk.feature_parity_gate(
            "fraud_v9",
            *(t(f) for f in _parity_frames()),
            key="request_id",
            features=["amount", "country"],
            columns=c,
        ),
        ["request_id", "amount", "country"],
    ),
    # not in __all__ but public in mlopskit.monitoring (the service-health layer)
    "service_health": (
        lambda t, c: service_health(t(_service()), as_of=AS_OF, columns=c),
        ["ts", "latency_ms", "error"],
    ),
}
#: frame readers checked elsewhere (with the test that checks them).
ELSEWHERE = {
    "staging_smoke_test": "needs a Staging version with artifacts: "
    "tests/test_gates.py::test_smoke_test_columns",
}


def _frame_readers() -> list[str]:
    out = []
    for name in mk.__all__:
        obj = getattr(mk, name)
        if not inspect.isfunction(obj):
            continue
        params = [  # a parameter annotated `str` names a column (Proportion's `events`)
            p.name
            for p in inspect.signature(obj).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.annotation != "str"
        ]
        if FRAME_PARAMS & set(params) and name not in NOT_FRAME_READERS:
            out.append(name)
    return out


def test_every_frame_reader_has_columns_and_a_case() -> None:
    readers = _frame_readers()
    assert len(readers) >= 12, readers  # the scan finds the frame readers
    for name in readers:
        assert "columns" in inspect.signature(getattr(mk, name)).parameters, name
        assert name in CALLS or name in ELSEWHERE, f"{name}: no columns= case"


def _same(a: Any, b: Any) -> None:
    assert type(a) is type(b)
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame())
    for attr in ("verdict", "passed", "status"):
        if hasattr(a, attr):
            assert getattr(a, attr) == getattr(b, attr), attr


@pytest.mark.parametrize("name", sorted(CALLS))
def test_renamed_columns_give_the_same_result(name: str) -> None:
    call, keys = CALLS[name]
    canonical = call(lambda df: df, None)
    renamed = call(_u, _cols(keys))
    _same(canonical, renamed)


@pytest.mark.parametrize("name", sorted(CALLS))
def test_unknown_key_names_the_accepted_keys(name: str) -> None:
    call, keys = CALLS[name]
    cols = {**_cols(keys), "not_a_column_role": "x"}
    with pytest.raises(ValueError, match=r"`columns` has unknown key\(s\) \['not_a_column_role'\]"):
        call(_u, cols)


def test_unknown_key_message_lists_the_accepted_keys() -> None:
    with pytest.raises(ValueError) as exc:
        mk.output_drift(scored(), reference_period=REF_PERIOD, columns={"scor": "p"})
    assert "accepted keys" in str(exc.value) and "'score'" in str(exc.value)


def test_a_column_named_twice_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"`ts` is named twice"):
        mk.label_maturity(_u(scored()), as_of=AS_OF, ts="u_label_ts", columns=_cols(EVENT_KEYS))
    with pytest.raises(ValueError, match=r"`ts` is named twice"):
        mk.psi_over_time(
            _u(features("reference")),
            _u(features("current")),
            ts="when",
            features=FEATS,
            columns=_cols([*FEATS, "ts"]),
        )


def test_a_keyword_agreeing_with_columns_is_fine() -> None:
    a = mk.output_drift(scored(), reference_period=REF_PERIOD, window="7D", as_of=AS_OF)
    b = mk.output_drift(
        _u(scored()),
        reference_period=REF_PERIOD,
        window="7D",
        as_of=AS_OF,
        score="u_score",
        columns={"score": "u_score", "ts": "u_ts"},
    )
    _same(a, b)


def test_missing_mapped_column_names_it() -> None:
    with pytest.raises(ValueError, match=r"`nope`"):
        mk.psi_table(features("reference"), features("current"), columns={"amount": "nope"})


# Without ``features=`` any key is a feature name (the renamed columns become the
# features), so the frame itself is the check: every mapped column must exist, identity
# mappings included, and a stored profile's features are the accepted keys.
NO_FEATURES: dict[str, Callable[[dict[str, str]], Any]] = {
    "profile": lambda c: mk.profile(features("reference"), columns=c),
    "psi_table": lambda c: mk.psi_table(features("reference"), features("current"), columns=c),
    "psi_table(profile)": lambda c: mk.psi_table(
        mk.profile(features("reference")), features("current"), columns=c
    ),
    "psi_over_time": lambda c: mk.psi_over_time(
        features("reference"), features("current"), window="7D", columns=c
    ),
    "psi_over_time(profile)": lambda c: mk.psi_over_time(
        mk.profile(features("reference")), features("current"), window="7D", columns=c
    ),
}
FOUND = r"Columns found: \['amount', 'country', 'device_risk', 'ts'\]"


@pytest.mark.parametrize("name", sorted(NO_FEATURES))
@pytest.mark.parametrize("mapping", [{"amount": "amout"}, {"amout": "amout"}])
def test_without_features_a_mapping_to_a_missing_column_is_named(
    name: str, mapping: dict[str, str]
) -> None:
    """A typo in ``columns`` without a feature list: the message names the frame, the
    column, the key and the columns found (an identity mapping used to pass silently)."""
    key, col = next(iter(mapping.items()))
    frame = "current" if "(profile)" in name else "reference"
    with pytest.raises(ValueError) as exc:
        NO_FEATURES[name](mapping)
    msg = str(exc.value)
    if name.endswith("(profile)") and key not in FEATS:
        # a stored profile's features are the accepted keys
        assert msg.startswith("current: `columns` has unknown key(s) ['amout']"), msg
        assert "['amount', 'country', 'device_risk'" in msg, msg
        return
    assert msg.startswith(f"{frame}: column `{col}` (given as `columns[{key!r}]`) is missing"), msg
    assert re.search(FOUND, msg), msg


def test_without_features_renamed_columns_are_the_features() -> None:
    """The accepted use: a key names the feature, the value the user's column."""
    ref = features("reference").rename(columns={"amount": "amt"})
    a = mk.psi_table(features("reference"), features("current"))
    b = mk.psi_table(
        ref, features("current").rename(columns={"amount": "amt"}), columns={"amount": "amt"}
    )
    _same(a, b)
    stored = mk.profile(features("reference"))
    c = mk.psi_over_time(
        stored,
        features("current").rename(columns={"amount": "amt"}),
        window="7D",
        columns={"amount": "amt"},
    )
    _same(c, mk.psi_over_time(stored, features("current"), window="7D"))
