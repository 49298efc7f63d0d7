"""Model configs: one YAML file per model (where its logs live, its column names, label
semantics, windows, features, owners and the report's words), found by name.

:func:`load_model_config` is the one entry point the report, the notebooks and
``mlopskit monitor`` call; :func:`write_initial_config` is ``mlopskit init``.
"""

from mlopskit.modelconfig.guess import Guess, guess_config, write_initial_config
from mlopskit.modelconfig.load import config_dirs, find_model_config, load_model_config
from mlopskit.modelconfig.schema import (
    LOG_COLUMNS,
    ConfigError,
    Domain,
    Feature,
    Labels,
    Log,
    ModelConfig,
    Source,
    Window,
    parse_config,
)

__all__ = [
    "LOG_COLUMNS",
    "ConfigError",
    "Domain",
    "Feature",
    "Guess",
    "Labels",
    "Log",
    "ModelConfig",
    "Source",
    "Window",
    "config_dirs",
    "find_model_config",
    "guess_config",
    "load_model_config",
    "parse_config",
    "write_initial_config",
]
