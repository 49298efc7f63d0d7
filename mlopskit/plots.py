"""Every figure of mlopskit; the only module that imports matplotlib (and seaborn).

Each function takes the result object (or its numbers) and ``ax=None``, draws, sets a title
and axis labels, and returns the Axes. Result objects' ``.plot()`` delegate here lazily.
"""

from __future__ import annotations

from typing import Any

import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt


def _axes(ax: Any = None, *, figsize: tuple[float, float] = (7.0, 3.6)) -> Any:
    """Return ``ax`` or a new Axes on a new figure."""
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


# ---- overview (demo / foundation) --------------------------------------------------


# ---- end overview ------------------------------------------------------------------


# ---- drift (issue 3) ---------------------------------------------------------------


# ---- end drift ---------------------------------------------------------------------


# ---- labels (issue 4) --------------------------------------------------------------


# ---- end labels --------------------------------------------------------------------


# ---- shadow (issue 5) --------------------------------------------------------------


# ---- end shadow --------------------------------------------------------------------


# ---- canary (issue 6) --------------------------------------------------------------


# ---- end canary --------------------------------------------------------------------


# ---- monitoring --------------------------------------------------------------------


# ---- end monitoring ----------------------------------------------------------------
