"""``python -m optbook``: the same as the ``optbook`` command (see :mod:`optbook.cli`)."""

import sys

from .cli import main

sys.exit(main())
