"""A model config's own canary metrics (``canary:`` section): validation naming the key
path, the data's column names read as contract names, the card words, and the commented
example ``mlopskit init`` writes (uncommented, it loads)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from _loans import write_loans, write_loans_canary

from mlopskit.canary import Mean, Proportion, Ratio
from mlopskit.modelconfig import ConfigError, parse_config, write_initial_config
from mlopskit.report.config_inputs import config_maturity_days, config_metrics, config_words

CANARY_COLS = {
    "unit_id": "application_id",
    "ts": "applied_at",
    "arm": "arm",
    "score": "pd_score",
    "flagged": "declined",
    "label": "defaulted",
    "latency_ms": "scoring_ms",
    "error": "scoring_failed",
}
BASE: dict[str, Any] = {
    "model": "loans",
    "logs": {
        "events": {
            "source": {"path": "applications.csv"},
            "columns": {"ts": "applied_at", "score": "pd_score", "label": "defaulted"},
        },
        "canary_log": {"source": {"path": "canary.csv"}, "columns": CANARY_COLS},
    },
    "labels": {"final": True},
    "domain": {"positive": "default", "event": "application"},
}
METRICS = [
    {
        "name": "missed_default_rate",
        "kind": "proportion",
        "events": "defaulted & ~declined",  # the data's names: read as label & ~flagged
        "margin": 0.004,
        "role": "primary",
        "words": "missed defaults",
    },
    {"name": "scoring_ms", "kind": "mean", "column": "latency_ms", "margin": 4.0, "unit": "ms"},
    {
        "name": "approval_rate",
        "kind": "proportion",
        "events": "~flagged",
        "direction": "higher",
        "margin": -0.1,
        "relative": True,
        "label_based": False,
    },
    {"name": "income_per_loan", "kind": "ratio", "numerator": "income", "denominator": "loan_amount", "margin": 0.2, "role": "secondary"},
]  # fmt: skip


def _cfg(canary: Any, **top: Any) -> Any:
    raw = yaml.safe_load(yaml.safe_dump(BASE))
    raw.update(top)
    if canary is not None:
        raw["canary"] = canary
    return raw


def test_the_config_declares_its_metrics_and_margins() -> None:
    cfg = parse_config(_cfg({"label_window_days": 45, "metrics": METRICS}), path="m.yml")
    got = config_metrics(cfg, policy=None)
    assert got == (
        Proportion("missed_default_rate", "label & ~flagged", margin=0.004, role="primary"),
        Mean("scoring_ms", "latency_ms", margin=4.0),
        Proportion(
            "approval_rate",
            "~flagged",
            margin=-0.1,
            direction="higher",
            relative=True,
            label_based=False,
        ),
        Ratio("income_per_loan", "income", "loan_amount", margin=0.2, role="secondary"),
    )
    assert got[0].label_based and not got[1].label_based  # label → matured units only
    assert config_maturity_days(cfg) == 45.0
    words = config_words(cfg)
    assert set(words) == {m["name"] for m in METRICS}
    assert (words["missed_default_rate"].label, words["missed_default_rate"].per) == (
        "missed defaults",
        "applications",
    )
    assert (words["scoring_ms"].kind, words["scoring_ms"].unit) == ("quantity", "ms")
    assert words["approval_rate"].kind == "relative"


def test_without_a_section_the_defaults_apply() -> None:
    cfg = parse_config(_cfg(None), path="m.yml")
    assert cfg.canary is None and config_maturity_days(cfg) is None
    names = [m.name for m in config_metrics(cfg, policy=None)]
    assert names == ["missed_default_rate", "false_positive_rate", "latency_ms", "error_rate"]


def test_a_capped_mean_is_declared_with_its_tail_guard() -> None:
    # r3-tails' Mean(col, cap=, cap_margin=) declared in the config: same Metric
    m = {**METRICS[1], "cap": 2000, "cap_margin": 0.02}
    cfg = parse_config(_cfg({"metrics": [m]}), path="m.yml")
    assert config_metrics(cfg, policy=None) == (
        Mean("scoring_ms", "latency_ms", margin=4.0, cap=2000.0, cap_margin=0.02),
    )


def _metric(i: int, **kw: Any) -> dict[str, Any]:
    m = {**METRICS[i], **kw}
    return {"metrics": [{k: v for k, v in m.items() if v is not None}]}


@pytest.mark.parametrize(
    ("canary", "message"),
    [
        ([], r"`canary`: expected a mapping"),
        ({"metrics": []}, r"`canary.metrics`: expected a non-empty list of metrics"),
        ({"metric": []}, r"`canary`: unknown key\(s\) \['metric'\]"),
        ({"label_window_days": -1, "metrics": METRICS}, r"`canary.label_window_days`: expected a number in \[0.0, 3650.0\]; got -1"),
        (_metric(0, kind="median"), r"`canary.metrics\[0\].kind`: expected one of \['proportion', 'mean', 'ratio'\]; got 'median'"),
        ({"metrics": ["x"]}, r"`canary.metrics\[0\]`: expected a mapping; got 'x'"),
        (_metric(0, events=None), r"`canary.metrics\[0\].events`: expected a non-empty string; got None"),
        (_metric(0, margin=None), r"`canary.metrics\[0\].margin`: expected the largest tolerated harm"),
        (_metric(0, margin="small"), r"`canary.metrics\[0\].margin`: expected a number"),
        (_metric(0, margin=-0.01), r"`canary.metrics\[0\]`: metric `missed_default_rate`: for a lower-is-better metric the margin .* must be > 0"),
        (_metric(0, direction="down"), r"`canary.metrics\[0\].direction`: expected 'lower' or 'higher'"),
        (_metric(0, role="main"), r"`canary.metrics\[0\].role`: expected one of \['primary', 'guardrail', 'secondary'\]"),
        (_metric(0, name="missed-rate"), r"`canary.metrics\[0\]`: metric `name` must be an identifier"),
        (_metric(0, events="label | flagged"), r"`canary.metrics\[0\]`: .*could not read 'label \| flagged'"),
        (_metric(0, column="x"), r"`canary.metrics\[0\]`: unknown key\(s\) \['column'\]; allowed: .*'events'"),
        (_metric(1, column="a & b"), r"`canary.metrics\[0\]`: metric `scoring_ms`: a mean metric takes one column"),
        (_metric(3, denominator=None), r"`canary.metrics\[0\].denominator`: expected a non-empty string"),
        (_metric(0, label_based="yes"), r"`canary.metrics\[0\].label_based`: expected true or false"),
        (_metric(1, cap="high"), r"`canary.metrics\[0\].cap`: expected a number in \[0.0, inf\]; got 'high'"),
        (_metric(1, cap=2000, cap_margin=2), r"`canary.metrics\[0\].cap_margin`: expected a number in \[0.0, 1.0\]; got 2"),
        (_metric(0, cap=2000), r"`canary.metrics\[0\]`: unknown key\(s\) \['cap'\]"),
        ({"metrics": [METRICS[0], METRICS[0]]}, r"`canary.metrics`: expected each metric name once; got \['missed_default_rate'\]"),
    ],
)  # fmt: skip
def test_errors_name_the_key_path(canary: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=r"^models/loans.yml: " + message):
        parse_config(_cfg(canary), path="models/loans.yml")


def test_a_canary_section_needs_a_canary_log() -> None:
    raw = _cfg({"metrics": METRICS})
    del raw["logs"]["canary_log"]
    with pytest.raises(ConfigError, match=r"`canary`: declares canary metrics but the config has no `logs.canary_log`"):  # fmt: skip
        parse_config(raw, path="models/loans.yml")


def test_init_writes_a_commented_example_that_loads(tmp_path: Path) -> None:
    data = [write_loans(tmp_path / "data"), write_loans_canary(tmp_path / "data")]
    path, _ = write_initial_config("loans", data, tmp_path / "models")
    text = path.read_text()
    assert parse_config(yaml.safe_load(text), path=path).canary is None  # commented out
    block = text[text.index("# canary:") :]
    uncommented = text.replace(block, re.sub(r"(?m)^# ?", "", block))
    cfg = parse_config(yaml.safe_load(uncommented), path=path)
    assert cfg.canary is not None
    assert [m.name for m in config_metrics(cfg)] == ["missed_default_rate", "latency_ms", "error_rate"]  # fmt: skip
    assert config_maturity_days(cfg) == 90.0
