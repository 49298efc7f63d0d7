"""Shadow disagreement profile: is the challenger safe to put in front of real decisions?

During shadow both models score every request and the champion decides. ``shadow_profile``
answers, from one batch of lazy aggregations over the shadow log (STATISTICS.md §6;
polars: one streaming ``collect_all``, the log is never materialized):

1. coverage: requests, join completeness, errors and lost calls (counted, never dropped);
2. offline vs live: PSI and KS of the challenger's live scores against its offline holdout;
3. decisions at the threshold: the 2×2 table, flag rates (Wilson), exact McNemar, κ,
   positive agreement, Jaccard and both conditional overlaps;
4. the capacity-matched view: the challenger threshold with the champion's flag count;
5. ranks: Spearman (CI), Kendall τ_b, top-k overlap vs ``k²/n`` on a seeded row sample;
6. segments: disagreement per segment value, lift, BH across values, ranked;
7. operations: latency p50/p95/p99 per model and error/missing rates against budgets;
8. a flip sample for manual review; 9. precision/recall on matured labels;
10. the verdict ``READY_FOR_CANARY | FIX | CONTINUE_SHADOW`` from a checklist of policy checks.

Scores are histogrammed on a fixed logit grid (``ScoreGrid``: 4000 bins, 0.8% in odds per
bin) and latencies on a log grid (1600 bins over 0.01 ms–10⁶ ms, 1.16% per bin); quantiles,
the capacity-matched threshold, PSI and KS are read off those grids, exact to one bin.
"""

from __future__ import annotations

from mlopskit.shadow.profile import (
    shadow_profile,
)
from mlopskit.shadow.result import (
    PARTS,
    ShadowCheck,
    ShadowProfile,
)
from mlopskit.shadow.tables import LATENCY_GRID

__all__ = [
    "LATENCY_GRID",
    "PARTS",
    "ShadowCheck",
    "ShadowProfile",
    "shadow_profile",
]
