"""Input adaptation: the only module that touches a dataframe engine.

Every public analysis accepts pandas, polars (eager or lazy), a DuckDB relation, a PySpark
DataFrame, or a path to a parquet/CSV file. This module turns any of them into a narwhals
``LazyFrame``, validates the data contract of ARCHITECTURE.md §4, and reduces the data to
small, engine-free sufficient statistics (numpy arrays, plain dicts, small pandas frames)
that ``mlopskit.stats`` consumes.

Rules kept here:

* Nothing is materialized whole: validation is one lazy aggregation pass plus, only when a
  violation is found, a ``head()`` of the offending rows for the error message.
* A contract violation is a ``ValueError`` naming the frame, the column, what was expected
  and what was found (with a few offending values).
"""

from __future__ import annotations

import narwhals.stable.v2 as nw

from mlopskit.frames.canary import (
    CANARY_LABEL_COLUMNS,
    CANARY_SUM_FIELDS,
    CanaryDaily,
    CanaryMetricSpec,
    canary_daily_sums,
    canary_validate,
)
from mlopskit.frames.canary_labels import CanaryArrivals, canary_label_arrivals
from mlopskit.frames.canary_pass import canary_scan
from mlopskit.frames.contracts import (
    CANARY_LOG,
    FEATURES,
    LABELED_EVENTS,
    OFFLINE_SCORES,
    SCORED_EVENTS,
    SERVICE_LOG,
    SHADOW_LOG,
    Column,
    Contract,
    ValidationPlan,
    validate,
    validation_plan,
)
from mlopskit.frames.drift import (
    MISSING_BIN,
    OTHER_BIN,
    BinSpec,
    bin_counts,
    category_counts,
    check_binnable,
    numeric_summary,
)
from mlopskit.frames.gates import (
    feature_parity_stats,
    first_rows,
    gate_columns,
    lookup,
    write_columns,
)
from mlopskit.frames.inputs import (
    ARMS,
    WINDOW_COL,
    FrameLike,
    Kind,
    WindowSpec,
    collect,
    collect_native,
    column_values,
    is_numeric_dtype,
    is_string_dtype,
    lazy,
    n_rows,
    parse_window,
    parse_window_length,
    schema,
    time_filter,
    window_complete,
    window_spec,
)
from mlopskit.frames.labels import (
    label_calibration_counts,
    label_calibration_rows,
    label_positive_score_quantiles,
    label_time_range,
    label_triangle_counts,
    matured_pairs,
)
from mlopskit.frames.mapping import (
    check_columns,
    feature_keys,
    keyword_column,
    rename_columns,
    resolve_columns,
)
from mlopskit.frames.overview import (
    daily_counts,
    label_arrivals,
    score_bin_counts,
    ts_range,
)
from mlopskit.frames.reference import (
    DEFAULT_QUANTILE_SAMPLE,
    EXACT_MAX_ROWS,
    NumericReference,
    ReferenceCounts,
    reference_counts,
)
from mlopskit.frames.service import (
    range_counts,
    service_stats,
    time_range,
)
from mlopskit.frames.shadow import (
    ShadowAggregates,
    score_histogram,
    shadow_aggregates,
    shadow_bounds,
    shadow_scan,
)

__all__ = [
    "ARMS",
    "CANARY_LABEL_COLUMNS",
    "CANARY_LOG",
    "CANARY_SUM_FIELDS",
    "DEFAULT_QUANTILE_SAMPLE",
    "EXACT_MAX_ROWS",
    "FEATURES",
    "LABELED_EVENTS",
    "MISSING_BIN",
    "OFFLINE_SCORES",
    "OTHER_BIN",
    "SCORED_EVENTS",
    "SERVICE_LOG",
    "SHADOW_LOG",
    "WINDOW_COL",
    "BinSpec",
    "CanaryArrivals",
    "CanaryDaily",
    "CanaryMetricSpec",
    "Column",
    "Contract",
    "FrameLike",
    "Kind",
    "NumericReference",
    "ReferenceCounts",
    "ShadowAggregates",
    "ValidationPlan",
    "WindowSpec",
    "bin_counts",
    "canary_daily_sums",
    "canary_label_arrivals",
    "canary_scan",
    "canary_validate",
    "category_counts",
    "check_binnable",
    "check_columns",
    "collect",
    "collect_native",
    "column_values",
    "daily_counts",
    "feature_keys",
    "feature_parity_stats",
    "first_rows",
    "gate_columns",
    "is_numeric_dtype",
    "is_string_dtype",
    "keyword_column",
    "label_arrivals",
    "label_calibration_counts",
    "label_calibration_rows",
    "label_positive_score_quantiles",
    "label_time_range",
    "label_triangle_counts",
    "lazy",
    "lookup",
    "matured_pairs",
    "n_rows",
    "numeric_summary",
    "nw",
    "parse_window",
    "parse_window_length",
    "range_counts",
    "reference_counts",
    "rename_columns",
    "resolve_columns",
    "schema",
    "score_bin_counts",
    "score_histogram",
    "service_stats",
    "shadow_aggregates",
    "shadow_bounds",
    "shadow_scan",
    "time_filter",
    "time_range",
    "ts_range",
    "validate",
    "validation_plan",
    "window_complete",
    "window_spec",
    "write_columns",
]
