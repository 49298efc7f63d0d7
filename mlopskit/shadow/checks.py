"""The shadow checklist and its verdict READY_FOR_CANARY / FIX / CONTINUE_SHADOW."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from mlopskit.policy import ShadowPolicy
from mlopskit.shadow.result import ShadowCheck
from mlopskit.stats.agreement import (
    DecisionAgreement,
    paired_rate_ratio,
)
from mlopskit.stats.proportions import wilson_ci
from mlopskit.verdict import ShadowVerdict


def _rate_status(count: int, n: int, budget: float, alpha: float) -> tuple[float, str, float]:
    """pass if the rate ≤ budget; fail if the Wilson lower bound > budget; else insufficient."""
    rate = count / n
    lo, _ = wilson_ci(count, n, alpha=alpha)
    status = "pass" if rate <= budget else ("fail" if float(lo) > budget else "insufficient")
    return rate, status, float(lo)


def _checks(
    pol: ShadowPolicy,
    t: dict[str, int],
    dec: DecisionAgreement,
    duration: int,
    offline_live: pd.DataFrame,
    ops: pd.DataFrame,
    labels: pd.DataFrame,
    warnings: list[str],
) -> list[ShadowCheck]:
    a = pol.alpha
    out: list[ShadowCheck] = []
    ok = lambda cond: "pass" if cond else "fail"  # noqa: E731
    n = t["n"]
    out.append(ShadowCheck(
        "duration", "evidence", duration, pol.min_duration_days, None,
        ok(duration >= pol.min_duration_days),
        f"shadow covers {duration} calendar day(s); at least {pol.min_duration_days} required.",
    ))  # fmt: skip
    out.append(ShadowCheck(
        "recommended_duration", "advisory", duration, pol.recommended_duration_days, None,
        ok(duration >= pol.recommended_duration_days),
        f"shadow covers {duration} calendar day(s); {pol.recommended_duration_days} recommended "
        "(two weekly cycles).",
    ))  # fmt: skip
    out.append(ShadowCheck(
        "volume", "evidence", dec.n, pol.min_requests, None, ok(dec.n >= pol.min_requests),
        f"{dec.n:,} requests scored by both models; at least {pol.min_requests:,} required.",
    ))  # fmt: skip
    flagged = dec.both + dec.champion_only
    out.append(ShadowCheck(
        "flagged_volume", "evidence", flagged, pol.min_flagged, None,
        ok(flagged >= pol.min_flagged),
        f"the champion flagged {flagged:,} scored pairs; at least {pol.min_flagged:,} required.",
    ))  # fmt: skip
    # one cause, one check: an errored call (a timeout) has no score and a latency at the
    # cap; the error rate counts it, so the missing-score rate counts only the scores lost
    # without an error flag (lost calls, join gaps) and latency quantiles use the calls
    # without error.
    errors, lost = t["error_challenger"], t["missing_challenger_no_error"]
    for code, count, budget, what, note in (
        ("error_rate", errors, pol.max_error_rate, "error/timeout rate", ""),
        ("missing_rate", lost, pol.max_missing_rate, "rate of scores missing without an error "
         "flag (lost calls, join gaps)",
         f"; the {errors:,} errored calls are counted by the error rate only"),
    ):  # fmt: skip
        rate, status, lo = _rate_status(count, n, budget, a)
        out.append(ShadowCheck(
            code, "operational", rate, None, budget, status,
            f"challenger {what} {rate:.3%} ({count:,}/{n:,}, Wilson lower {lo:.3%}); budget "
            f"{budget:.2%}{note if errors else ''}.",
        ))  # fmt: skip
    ratio = float(ops["p99_ratio"].to_numpy(dtype=float)[1])
    p99 = ops["p99_ms"].to_numpy(dtype=float)
    lat_n = int(ops["latency_n"].min())
    status = "insufficient" if lat_n < 1000 else ok(ratio <= pol.p99_latency_ratio_max)
    out.append(ShadowCheck(
        "p99_latency_ratio", "operational", ratio, None, pol.p99_latency_ratio_max, status,
        f"challenger p99 latency {p99[1]:.1f} ms is {ratio:.2f}× the champion's "
        f"{p99[0]:.1f} ms (calls without an error flag; timeouts count in the error rate); "
        f"at most {pol.p99_latency_ratio_max:g}×"
        + (f" (only {lat_n:,} latencies; ≥ 1,000 needed)." if lat_n < 1000 else "."),
    ))  # fmt: skip
    # flag-rate ratio of paired proportions, log-scale Wald CI (stats.paired_rate_ratio)
    ratio, ci_lo, ci_hi = paired_rate_ratio(
        dec.both, dec.champion_only, dec.challenger_only, alpha=a
    )
    lo_r, hi_r = pol.flag_rate_ratio_min, pol.flag_rate_ratio_max
    if not np.isfinite(ratio):
        status = "insufficient"
    elif lo_r <= ci_lo and ci_hi <= hi_r:  # parity shown: the whole CI inside the tolerance
        status = "pass"
    else:  # fail only when the whole CI is outside; a straddling CI needs more data
        status = "fail" if ci_hi < lo_r or ci_lo > hi_r else "insufficient"
    out.append(ShadowCheck(
        "flag_rate_ratio", "parity", ratio, lo_r, hi_r, status,
        f"challenger/champion flag rate, each at its own threshold, {ratio:.3f} "
        f"({1 - a:.0%} CI {ci_lo:.3f}–{ci_hi:.3f}); tolerance {lo_r:g}–{hi_r:g}.",
    ))  # fmt: skip
    out.append(ShadowCheck(
        "jaccard", "advisory", dec.jaccard, pol.jaccard_min, None,
        ok(dec.jaccard >= pol.jaccard_min) if np.isfinite(dec.jaccard) else "insufficient",
        f"Jaccard of the flagged sets {dec.jaccard:.3f}; at least {pol.jaccard_min:g} expected "
        "(below: read the flip sample).",
    ))  # fmt: skip
    row = offline_live[offline_live["model"] == "challenger"]
    if len(row) == 0:
        for code, lim in (("offline_live_psi", pol.psi_max), ("offline_live_ks", pol.ks_d_max)):
            out.append(ShadowCheck(
                code, "parity", np.nan, None, lim, "skipped",
                f"{code}: not assessed — no offline scores given, so live-vs-offline "
                "parity of the challenger could not be checked.",
            ))  # fmt: skip
    else:
        r = row.iloc[0]
        for code, val, crit, lim, name in (
            ("offline_live_psi", r["psi"], r["psi_critical"], pol.psi_max, "PSI"),
            ("offline_live_ks", r["ks_d"], r["ks_critical"], pol.ks_d_max, "KS D"),
        ):
            if not (np.isfinite(val) and np.isfinite(crit)) or crit >= lim:
                # NaN: the offline sample has a single distinct score (one bin) or no rows
                status = "insufficient"
            else:
                status = ok(val <= lim)
            out.append(ShadowCheck(
                code, "parity", float(val), None, lim, status,
                f"challenger live vs offline {name} {val:.4f} (sampling-noise critical value "
                f"{crit:.4f}); at most {lim:g}.",
            ))  # fmt: skip
    out.append(_recall_check(pol, labels))
    for c in out:
        if c.kind == "advisory" and c.status == "fail":
            warnings.append(c.message)
    return out


def _recall_check(pol: ShadowPolicy, labels: pd.DataFrame) -> ShadowCheck:
    """Recall of each model at its own threshold on matured labels (paired): FIX when the
    whole CI of challenger − champion lies below −``recall_drop_max``. Shadow screens for a
    clear loss; proving non-inferiority is the canary's job, so a CI that straddles the
    tolerance passes with that said."""
    tol = pol.recall_drop_max
    diff = labels[labels["model"] == "challenger − champion"]
    if len(diff) == 0:
        return ShadowCheck(
            "recall", "performance", np.nan, -tol, None, "skipped",
            "recall: not assessed — no matured positive labels in the shadow window, so the "
            "challenger's recall at its own threshold could not be compared.",
        )  # fmt: skip
    d = diff.iloc[0]
    own = labels.set_index("model")
    rec = dict(zip(own.index, own["recall"].to_numpy(dtype=float), strict=True))
    thr = dict(zip(own.index, own["threshold"].to_numpy(dtype=float), strict=True))
    value, lo, hi = float(d["recall"]), float(d["recall_ci_low"]), float(d["recall_ci_high"])
    status = "fail" if hi < -tol else "pass"
    tail = (
        f"a loss beyond {tol * 100:g} pp is shown"
        if status == "fail"
        else (
            f"no loss beyond {tol * 100:g} pp"
            if lo >= -tol
            else f"a loss beyond {tol * 100:g} pp is not shown (the canary tests it)"
        )
    )
    return ShadowCheck(
        "recall", "performance", value, -tol, None, status,
        f"challenger recall {rec['challenger']:.1%} at its own threshold "
        f"{thr['challenger']:.4g} vs the champion's "
        f"{rec['champion']:.1%} at {thr['champion']:.4g}: "
        f"{value * 100:+.1f} pp ({1 - pol.alpha:.0%} CI {lo * 100:+.1f} to {hi * 100:+.1f} pp, "
        f"{int(d['positives']):,} matured positives, McNemar p {float(d['p_value']):.2g}); "
        f"{tail}.",
    )  # fmt: skip


def _verdict(checks: Sequence[ShadowCheck]) -> ShadowVerdict:
    """FIX if a critical (operational/parity) check fails; CONTINUE_SHADOW if an evidence
    check fails or a critical check lacks data; READY_FOR_CANARY otherwise."""
    if any(c.critical and c.status == "fail" for c in checks):
        return ShadowVerdict.FIX
    if any(
        (c.kind == "evidence" and c.status == "fail") or (c.critical and c.status == "insufficient")
        for c in checks
    ):
        return ShadowVerdict.CONTINUE_SHADOW
    return ShadowVerdict.READY_FOR_CANARY
