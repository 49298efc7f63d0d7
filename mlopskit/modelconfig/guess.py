"""``mlopskit init MODEL --data PATH…``: a commented model config guessed from a sample of
the user's data, saying what it guessed and why.

Guesses (on the first 5,000 rows of each file):

* timestamps: datetime columns, or string columns of which ≥ 95 % parse as ISO datetimes;
  one whose name speaks of a label's arrival (``label``, ``outcome``, ``resolved``, …) is
  ``label_ts``, the first other one is ``ts``.
* id: a column unique in the sample whose name ends in ``id``/``key``/``uuid``.
* label: a two-valued column (bool, 0/1 of any numeric dtype, two strings) whose name says
  label/target/outcome/default/fraud/churn/…; else the only two-valued column.
* score: a non-binary numeric column inside [0, 1] whose name says score/prob/pd/pred; else
  the only such column.
* features: every other column (strings categorical); the rest are listed as not features.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlopskit.modelconfig.schema import LOG_COLUMNS, Source, parse_config

_ROLE_WORDS = {
    "shadow_log": ("shadow",),
    "canary_log": ("canary",),
    "service_log": ("service",),
    "offline": ("offline", "holdout"),
    "reference": ("reference", "train", "baseline"),
}
_LABEL_TS_WORDS = ("label", "outcome", "resolved", "settled", "observed", "arriv", "confirm")
_TS_WORDS = ("ts", "time", "date", "created", "event", "_at")
_ID_RE = re.compile(r"(^|_)(id|key|uuid)$|id$", re.IGNORECASE)
_LABEL_WORDS = (
    "label", "target", "outcome", "default", "fraud", "churn", "bad", "class", "is_", "_flag",
    "converted", "y",
)  # fmt: skip
_FLAG_WORDS = ("flag", "declin", "reject", "block", "alert", "review", "deny", "denied")
_SCORE_WORDS = ("score", "prob", "proba", "pd", "pred", "risk", "p_")


@dataclass
class Guess:
    """What ``init`` guessed for one file: its log role, column mapping and the reasons."""

    log: str
    source: Source
    columns: dict[str, str] = field(default_factory=dict)
    features: list[str] = field(default_factory=list)
    categorical: list[str] = field(default_factory=list)
    not_features: list[str] = field(default_factory=list)
    positive: Any = 1
    final: bool = True
    threshold: float | None = None
    timestamp_format: str | None = None
    notes: list[str] = field(default_factory=list)


def _role(path: str, taken: set[str]) -> str:
    stem = Path(path).name.lower()
    for role, words in _ROLE_WORDS.items():
        if role not in taken and any(w in stem for w in words):
            return role
    if "events" not in taken:
        return "events"
    raise ValueError(
        f"`--data {path}`: cannot tell which log this is (events is taken); name the file "
        f"after its log ({', '.join(sorted(_ROLE_WORDS))})."
    )


def _has(name: str, words: Sequence[str]) -> bool:
    n = name.lower()
    return any(n == w or w in n for w in words if len(w) > 1) or n in words


def _binary(info: dict[str, Any]) -> bool:
    v = info["values"]
    if v is None:
        return False
    if info["dtype"] == "bool":
        return True
    if info["dtype"] in ("int", "float"):
        return set(v) <= {0.0, 1.0} and len(v) == 2
    return info["dtype"] == "string" and len(v) == 2


def _unit_score(info: dict[str, Any]) -> bool:
    return (
        info["dtype"] in ("float", "int")
        and not _binary(info)
        and info["min"] is not None
        and 0.0 <= info["min"]
        and info["max"] <= 1.0
        and info["values"] is None
    )


def guess_log(path: str, role: str, cols: dict[str, dict[str, Any]]) -> Guess:
    """Guess the column mapping of one file (see the module docstring)."""
    kind = "csv" if path.lower().endswith(".csv") else "path"
    g = Guess(role, Source(kind=kind, path=path))
    left = dict(cols)

    def take(canonical: str, name: str, why: str) -> None:
        g.columns[canonical] = name
        left.pop(name, None)
        g.notes.append(f"`{canonical}` ← `{name}`: {why}")

    wanted = LOG_COLUMNS[role]
    for canonical in wanted:  # exact names first
        if canonical in left:
            take(canonical, canonical, "same name")
    times = [c for c, i in left.items() if i["datetime_share"] >= 0.95]
    if "label_ts" in wanted and "label_ts" not in g.columns:
        lts = [c for c in times if _has(c, _LABEL_TS_WORDS)]
        if lts and len(times) > 1:
            take("label_ts", lts[0], "a timestamp named like a label's arrival")
            times.remove(lts[0])
    if "ts" in wanted and "ts" not in g.columns and times:
        named = [c for c in times if _has(c, _TS_WORDS)] or times
        info = cols[named[0]]
        why = (
            "a datetime column"
            if info["dtype"] == "datetime"
            else "strings that parse as ISO datetimes"
        )
        take("ts", named[0], why + ("" if len(times) == 1 else f" (of {times})"))
    for idc in ("id", "request_id", "unit_id"):
        if idc in wanted and idc not in g.columns:
            ids = [
                c
                for c, i in left.items()
                if i["n_null"] == 0
                and i["n_unique"] == i["n"]
                and i["dtype"] in ("int", "string")
                and _ID_RE.search(c)
            ]
            if ids:
                take(idc, ids[0], "unique in the sample, named like an id")
            break
    if "label" in wanted and "label" not in g.columns:
        binary = [c for c, i in left.items() if _binary(i)]
        named = [c for c in binary if _has(c, _LABEL_WORDS)]
        pick = named[:1] or (binary if len(binary) == 1 else [])
        if pick:
            info = cols[pick[0]]
            if info["dtype"] == "string":
                g.positive = info["values"][1]
                g.notes.append(
                    f"labels.positive = {g.positive!r}: one of {info['values']}; CHECK this"
                )
            take("label", pick[0], f"two-valued ({info['dtype']}: {info['values']})")
    if "label" in g.columns:
        g.final = "label_ts" not in g.columns
    if role == "canary_log":  # the decision, outcome and guardrail columns of the metrics
        numeric = ("int", "float")
        for canonical, words, ok in (
            ("flagged", _FLAG_WORDS, _binary),
            ("error", ("error", "fail"), _binary),
            ("latency_ms", ("latency", "_ms", "ms_"), lambda i: i["dtype"] in numeric),
            ("loss", ("loss",), lambda i: i["dtype"] in numeric),
            ("amount", ("amount", "volume", "value"), lambda i: i["dtype"] in numeric),
        ):
            cands = [c for c, i in left.items() if _has(c, words) and ok(i)]
            if canonical not in g.columns and len(cands) == 1:
                take(canonical, cands[0], f"named like {words[0]}; CHECK")
    for canonical in [c for c in wanted if c.startswith("score")]:
        if canonical in g.columns:
            continue
        unit = [c for c, i in left.items() if _unit_score(i)]
        named = [c for c in unit if _has(c, _SCORE_WORDS)]
        pick = named[:1] or (unit if len(unit) == 1 else [])
        if pick:
            take(canonical, pick[0], "numeric in [0, 1], named like a score")
    score_col, label_col = g.columns.get("score"), g.columns.get("label")
    if score_col and label_col and cols[label_col].get("mean") is not None:
        rate = cols[label_col]["mean"] if g.positive == 1 else None
        pct = cols[score_col].get("percentiles")
        if rate is not None and pct and 0 < rate < 1:
            g.threshold = round(pct[min(100, max(0, round(100 * (1 - rate))))], 4)
            g.notes.append(
                f"threshold {g.threshold}: the score's {100 * (1 - rate):.0f}th percentile, "
                f"flagging as many as the {100 * rate:.1f}% positives; set your decision threshold"
            )
    string_ts = [
        c for k, c in g.columns.items() if k in ("ts", "label_ts") and cols[c]["dtype"] == "string"
    ]
    if string_ts:
        g.notes.append(
            f"{string_ts} are strings: parsed as ISO 8601 (set `timestamp_format` if not)"
        )
    if role == "events" and "score" in g.columns:
        other = [c for c in left if _unit_score(cols[c]) and _has(c, _SCORE_WORDS)]
        if other:  # a second score: a challenger scored in shadow on the same events
            g.notes.append(f"`{other[0]}` is a second score: read as the shadow challenger")
            g.columns["__challenger"] = other[0]
            left.pop(other[0])
    if role in ("events", "reference"):
        for c, i in left.items():
            unique_id = i["n_unique"] == i["n"] and i["dtype"] in ("int", "string")
            if i["datetime_share"] >= 0.95 or (unique_id and i["n"] > 20) or i["n_unique"] <= 1:
                g.not_features.append(c)
            else:
                g.features.append(c)
                if i["dtype"] in ("string", "bool"):
                    g.categorical.append(c)
    return g


def guess_config(model: str, data: Sequence[str | Path]) -> list[Guess]:
    """Guess every file's log role and columns (each file sampled: first 5,000 rows)."""
    from mlopskit.frames.sources import sample_columns

    if not data:
        raise ValueError("`--data`: give at least one file (the scored events).")
    guesses: list[Guess] = []
    taken: set[str] = set()
    cols_of: dict[str, dict[str, dict[str, Any]]] = {}
    for p in data:
        path = str(p)
        role = _role(path, taken)
        taken.add(role)
        kind = "csv" if path.lower().endswith(".csv") else "path"
        cols = sample_columns(Source(kind=kind, path=path))
        cols_of[path] = cols
        guesses.append(guess_log(path, role, cols))
    if "events" not in taken:
        raise ValueError("`--data`: none of the files is the scored events log.")
    ev = next(g for g in guesses if g.log == "events")
    challenger = ev.columns.pop("__challenger", None)
    if challenger is not None and "shadow_log" not in taken:
        mapped: dict[str, str] = {
            "score_champion": ev.columns["score"],
            "score_challenger": challenger,
        }
        for a, b in (
            ("request_id", "id"),
            ("ts", "ts"),
            ("label", "label"),
            ("label_ts", "label_ts"),
        ):
            if b in ev.columns:
                mapped[a] = ev.columns[b]
        note = f"the events file, with `{challenger}` as the challenger's score"
        shadow = Guess("shadow_log", ev.source, mapped, notes=[note])
        _guess_budgets(shadow, ev, cols_of[ev.source.path or ""], ev.columns["score"], challenger)
        guesses.append(shadow)
    return guesses


def _guess_budgets(
    shadow: Guess, ev: Guess, cols: dict[str, dict[str, Any]], champ: str, chall: str
) -> None:
    """Latency (``*ms*``/``*latency*``, numeric) and error (``*error*``/``*fail*``, two-valued)
    pairs of a shadow log; the challenger's carries the challenger score's extra suffix."""
    suffix = chall[len(champ) :] if chall.startswith(champ) else chall
    for kind, words, ok in (
        (
            "latency_ms",
            ("latency", "_ms", "ms_"),
            lambda i: i["dtype"] in ("int", "float") and not _binary(i),
        ),
        ("error", ("error", "fail"), _binary),
    ):
        cands = [c for c, i in cols.items() if _has(c, words) and ok(i)]
        chall_c = [c for c in cands if suffix and c.endswith(suffix)]
        champ_c = [c for c in cands if c not in chall_c]
        if len(chall_c) == 1 and len(champ_c) == 1:
            for who, c in (("champion", champ_c[0]), ("challenger", chall_c[0])):
                shadow.columns[f"{kind}_{who}"] = c
                shadow.notes.append(f"`{kind}_{who}` ← `{c}`: named like {kind.split('_')[0]}")
                if c in ev.features:
                    ev.features.remove(c)
                    ev.not_features.append(c)


def _y(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, bool) else str(value).lower()


def render_config(model: str, guesses: Sequence[Guess], *, base: Path | None = None) -> str:
    """The commented YAML text of a guessed config."""
    ev = next(g for g in guesses if g.log == "events")
    lines = [
        f"# Model config for {model}, written by `mlopskit init` from a sample of the data.",
        "# Every guess is marked; check them, then run `mlopskit report " + model + "`.",
        '# Schema: mlopskit/modelconfig/schema.py (README: "Your own model").',
        f"model: {model}",
        "",
        "logs:",
    ]
    for g in guesses:
        path = g.source.path or ""
        if base is not None:  # relative to the config file: the pair moves together
            path = os.path.relpath(Path(path).resolve(), base.resolve())
        lines.append(f"  {g.log}:")
        lines.append(f"    source: {{kind: {g.source.kind}, path: {_y(path)}}}")
        lines.append("    columns:  # contract name: your column")
        for note in g.notes:
            lines.append(f"      # guessed {note}")
        if g.log == "shadow_log" and g.source == ev.source:
            lines.insert(len(lines) - len(g.notes) - 1, "    # the same file, read as a shadow log")
        for k in LOG_COLUMNS[g.log]:
            if k in g.columns:
                lines.append(f"      {k}: {_y(g.columns[k])}")
        missing = [k for k in LOG_COLUMNS[g.log] if k not in g.columns]
        if missing:
            lines.append(f"      # not found (map them if the data has them): {', '.join(missing)}")
    lines += [
        "",
        "labels:",
        f"  positive: {_y(ev.positive)}  # the label value that is a positive",
        f"  final: {_y(ev.final)}  "
        + (
            "# guessed: no label arrival time found, so labels in the data are taken as final"
            if ev.final
            else "# labels arrive late: `label_ts` is mapped"
        ),
        "  horizon_days: 90  # days after an event by which its label is final (CHECK)",
        "",
        "windows:  # reference vs current for drift (dates: {start: 2026-01-01, end: 2026-02-01})",
        "  reference: {first_days: 28}",
        "  current: {last_days: 7}",
        "",
        "# Features: every column that is not an id, a timestamp, the label or the score.",
        "# Add `importance:` (e.g. |SHAP| share) to weight input drift; optional.",
        "features:",
    ]
    for f in ev.features:
        cat = ", categorical: true" if f in ev.categorical else ""
        lines.append(f"  - {{name: {_y(f)}{cat}}}")
    if not ev.features:
        lines.append("  []")
    lines += [
        f"not_features: {json.dumps(ev.not_features)}  # guessed: other ids and timestamps",
        "",
        (
            f"threshold: {ev.threshold}  # GUESSED decision threshold (shadow/rollout reports): CHECK"
            if ev.threshold is not None
            else "# threshold: 0.5      # decision threshold of the score (shadow and rollout reports)"
        ),
        "# champion: " + model + "_v1   # registry names when a challenger is being rolled out",
        "# challenger: " + model + "_v2",
        "owners:  # who acts on an alert (CHECK): model = input/output/outcome layers",
        "  model: data science",
        "domain:  # words the report uses",
        f"  positive: {_y(_word(ev.columns.get('label', 'positive')))}  # one positive label is a ...",
        f"  event: {_y(_event_word(ev.source.path or ''))}  # one row of the events log is a ...",
        "  team: data science",
        "",
        *_canary_example(_word(ev.columns.get("label", "positive"))),
    ]
    return "\n".join(lines)


def _canary_example(positive: str) -> list[str]:
    """A commented ``canary:`` section (uncommented, it loads when there is a canary log)."""
    slug = re.sub(r"[^a-z0-9]+", "_", positive.lower()).strip("_") or "positive"
    return [
        "# Canary metrics (optional). Without this section the rollout report and the promotion",
        "# gate use the default metrics (missed positives, false positives, loss per amount,",
        "# latency, errors) with the policy's margins. Uncomment to declare this model's own:",
        "# the margins below then replace the policy's. Columns are the canary log's contract",
        "# names (label, flagged, latency_ms, error, ...) or other columns of the data.",
        "# canary:",
        "#   label_window_days: 90   # label-based metrics count units at least this old",
        "#   metrics:",
        f"#     - name: missed_{slug}_rate",
        "#       kind: proportion      # proportion | mean | ratio",
        '#       events: "label & ~flagged"   # flag columns joined by & (~ negates)',
        "#       direction: lower      # lower | higher is better",
        "#       margin: 0.005         # largest tolerated harm, canary - control (CHECK)",
        "#       role: primary         # primary | guardrail (default) | secondary",
        f"#       words: missed {positive}s",
        "#     - {name: latency_ms, kind: mean, column: latency_ms, margin: 5.0, unit: ms}",
        "#     - {name: error_rate, kind: proportion, events: error, margin: 0.002}",
        "",
    ]


def _event_word(path: str) -> str:
    """``applications.csv`` → ``application`` (the events file's name, singular)."""
    stem = re.sub(r"[^a-z]+", " ", Path(path).stem.lower()).strip()
    words = re.sub(r"\b(events?|logs?|scored|scores?|data|production|prod)\b", " ", stem).split()
    word = words[-1] if words else "event"
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def _word(label_column: str) -> str:
    w = re.sub(r"^(is_|has_)|(_flag|_label)$", "", label_column.lower())
    w = w[:-2] if w.endswith("ed") and len(w) > 4 else w  # defaulted → default
    return w.replace("_", " ") or "positive"


def write_initial_config(
    model: str, data: Sequence[str | Path], out: str | Path, *, force: bool = False
) -> tuple[Path, list[Guess]]:
    """Guess a config from ``data`` and write it to ``out`` (a file or a directory, where it
    is ``<model>.yml``). Returns the path and the guesses (printed by the CLI)."""
    import yaml

    out = Path(out)
    if out.suffix not in (".yml", ".yaml"):
        out = out / f"{model}.yml"
    if out.exists() and not force:
        raise ValueError(f"`{out}` exists; pass --force to overwrite it.")
    guesses = guess_config(model, data)
    text = render_config(model, guesses, base=out.parent)
    parse_config(yaml.safe_load(text), path=out)  # what we write must load
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    return out, guesses
