"""``python -m mlopskit`` → the CLI."""

import sys

from mlopskit.cli import main

sys.exit(main())
