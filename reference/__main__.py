"""``python -m reference serve|seed|admin``."""

from __future__ import annotations

import sys

from reference.cli import main

sys.exit(main())
