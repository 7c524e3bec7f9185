import sys

from lesionkit.cli import main

sys.exit(main())
