"""A shadow log above the in-memory limit is read once, in pieces, and the pieces'
aggregates merged (frames/shadow_stream.py): exactly the aggregates of the log reduced
whole, for a parquet path (slices) and for the user's own ``pl.scan_parquet`` (one
streaming query), with piece boundaries inside row groups, ids split across pieces, the
sample's hash cut too tight, and contract errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import pytest

from mlopskit import frames
from mlopskit.frames import shadow as fshadow
from mlopskit.frames import shadow_parts, shadow_stream
from mlopskit.stats.agreement import ScoreGrid
from tests.test_shadow_fastpath import _assert_same, _log

KW: dict[str, Any] = dict(
    latency_bins=(-2.0, 6.0, 1600),
    maturity_days=3.0,
    sample_size=700,
    threshold=0.1,
)


def _kw(**extra: Any) -> dict[str, Any]:
    g = ScoreGrid()
    return {**KW, "score_bins": (g.n_bins, g.span, g.clip), **extra}


def _spy_pieces(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Heights of the pieces read, in order."""
    heights: list[int] = []
    real = shadow_stream.pieces

    def spy(*a: Any, **k: Any) -> Any:
        for df in real(*a, **k):
            heights.append(df.height)
            yield df

    monkeypatch.setattr(shadow_stream, "pieces", spy)
    return heights


@pytest.mark.parametrize("piece", [1_000, 2_999, 12_000])
@pytest.mark.parametrize("source", ["path", "scan", "directory"])
def test_pieces_merge_to_the_whole_logs_aggregates(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any, piece: int, source: str
) -> None:
    df = _log(12_345, seed=21)
    if source == "directory":  # a dataset of two files of unequal length
        (tmp_path / "log").mkdir()
        df[:5_000].write_parquet(tmp_path / "log" / "part-0.parquet", row_group_size=1_500)
        df[5_000:].write_parquet(tmp_path / "log" / "part-1.parquet", row_group_size=2_000)
        data: Any = str(tmp_path / "log")
    else:
        df.write_parquet(tmp_path / "shadow.parquet", row_group_size=2_500)
        data = tmp_path / "shadow.parquet"
        if source == "scan":
            data = pl.scan_parquet(data)
    kw = _kw(segments=("channel", "country", "bucket"))
    whole = frames.shadow_scan(df, **kw)
    heights = _spy_pieces(monkeypatch)
    monkeypatch.setattr(shadow_parts, "IN_MEMORY_MAX_BYTES", 0)
    monkeypatch.setattr(shadow_stream, "PIECE_MIN_ROWS", piece)
    merged = frames.shadow_scan(data, **kw)
    expected = [piece] * (12_345 // piece) + ([12_345 % piece] if 12_345 % piece else [])
    assert heights == expected  # every row read once, in order
    _assert_same(whole, merged)
    assert merged.bounds == whole.bounds
    assert merged.row_counts == whole.row_counts


def test_a_user_scan_that_fits_is_one_piece_and_an_in_memory_lazy_frame_is_not_streamed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    df = _log(3_000, seed=2)
    df.write_parquet(tmp_path / "s.parquet")
    heights = _spy_pieces(monkeypatch)
    kw = _kw(segments=("channel",))
    a = frames.shadow_scan(pl.scan_parquet(tmp_path / "s.parquet"), **kw)
    assert heights == [3_000]
    b = frames.shadow_scan(df.lazy(), **kw)  # in memory already: the direct queries
    assert heights == [3_000]
    _assert_same(a, b)


def test_sample_redrawn_over_the_whole_log_when_the_hash_cut_keeps_too_few(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    # a cut expecting 0.05 × size hashes leaves the merged sample short: it is drawn again
    # without the cut, as the whole-log path does, and is the same sample
    df = _log(20_000, seed=4)
    df.write_parquet(tmp_path / "s.parquet", row_group_size=4_000)
    monkeypatch.setattr(shadow_parts, "_HASH_OVERSAMPLE", 0.05)
    kw = _kw(segments=("channel",))
    whole = frames.shadow_scan(tmp_path / "s.parquet", **kw)
    monkeypatch.setattr(shadow_parts, "IN_MEMORY_MAX_BYTES", 0)
    monkeypatch.setattr(shadow_stream, "PIECE_MIN_ROWS", 3_000)
    merged = frames.shadow_scan(tmp_path / "s.parquet", **kw)
    assert merged.sample_champion.size == 700
    _assert_same(whole, merged)
    # and with the default cut no redraw is needed: the merged sample is the log's
    monkeypatch.setattr(shadow_parts, "_HASH_OVERSAMPLE", 4.0)
    calls: list[int] = []
    monkeypatch.setattr(shadow_stream, "_full_sample", lambda *a: calls.append(1))
    merged = frames.shadow_scan(tmp_path / "s.parquet", **kw)
    assert not calls and merged.sample_champion.size == 700


@pytest.mark.parametrize(
    ("ids", "expected"),
    [
        ([[1, 2, 3], [4, 5]], 5),
        ([[1, 2, 2], [2, 3], [3]], 3),  # duplicates across piece boundaries
        ([[-5, 0], [], [0, 7]], 3),
        ([["a", "b"], ["b", "c"]], 3),
        ([[1, 3], [2, 4]], None),  # sorted within pieces, not across
        ([[3, 1], [4]], None),
        ([[1, None], [4]], None),
    ],
)
def test_sorted_ids_counted_across_pieces_equal_n_unique(
    ids: list[list[Any]], expected: Any
) -> None:
    counter = shadow_parts.SortedIds()
    for piece in ids:
        counter.add(
            pl.Series(
                "id", piece, dtype=pl.String if isinstance(piece and piece[0], str) else pl.Int64
            )
        )
    flat = [v for p in ids for v in p]
    if expected is None:
        assert not counter.ok
    else:
        assert counter.ok and counter.count == expected == len(set(flat))


@pytest.mark.parametrize("defect", ["duplicate_far_apart", "negative_latency", "label_two"])
def test_contract_errors_in_pieces_are_the_whole_logs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any, defect: str
) -> None:
    df = _log(9_000, seed=8)
    if defect == "duplicate_far_apart":  # ids shuffled: counted by one more query
        ids = np.random.default_rng(0).permutation(9_000)
        ids[8_500] = ids[10]
        df = df.with_columns(request_id=pl.Series(ids))
    elif defect == "negative_latency":
        df = df.with_columns(
            latency_ms_challenger=pl.when(pl.int_range(pl.len()) == 7_777)
            .then(-1.0)
            .otherwise("latency_ms_challenger")
        )
    else:
        df = df.with_columns(
            label=pl.when(pl.int_range(pl.len()) == 8_001).then(2).otherwise("label")
        )
    df.write_parquet(tmp_path / "s.parquet", row_group_size=1_000)
    kw = _kw(segments=("channel",))
    errors = []
    for limit in (shadow_parts.IN_MEMORY_MAX_BYTES, 0):
        monkeypatch.setattr(shadow_parts, "IN_MEMORY_MAX_BYTES", limit)
        with pytest.raises(ValueError) as exc:
            frames.shadow_scan(tmp_path / "s.parquet", **kw)
        errors.append(str(exc.value))
    assert errors[0] == errors[1]
    word = {"duplicate_far_apart": "unique", "negative_latency": "≥ 0", "label_two": "0/1"}
    assert word[defect] in errors[0]


def test_the_fast_path_switch_also_turns_pieces_off(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    # the generic narwhals path (every other engine's) never takes the pieces
    df = _log(4_000, seed=3)
    df.write_parquet(tmp_path / "s.parquet")
    heights = _spy_pieces(monkeypatch)
    monkeypatch.setattr(shadow_parts, "IN_MEMORY_MAX_BYTES", 0)
    kw = _kw(segments=("channel", "country"))
    merged = frames.shadow_scan(tmp_path / "s.parquet", **kw)
    assert len(heights) == 4
    monkeypatch.setattr(fshadow, "_POLARS_FAST", False)
    generic = frames.shadow_scan(tmp_path / "s.parquet", **kw)
    assert len(heights) == 4
    _assert_same(merged, generic)
