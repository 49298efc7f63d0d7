"""Pure statistics on numpy arrays and sufficient statistics: no dataframes, no I/O."""
