"""``python -m lesionkit`` runs the command line, like the ``lesionkit`` script."""

import sys

from lesionkit.cli import main

sys.exit(main())
