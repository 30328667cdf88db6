"""``python -m tixallo_qa.reference serve|seed|admin``."""

from __future__ import annotations

import sys

from tixallo_qa.reference.cli import main

sys.exit(main())
