"""``python -m k8sauthlib``: the same command line as the ``k8sauthlib`` console script."""

import sys

from .cli import main

sys.exit(main())
