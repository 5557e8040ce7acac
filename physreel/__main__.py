"""`python -m physreel ...` is the `physreel` command."""

import sys

from physreel.engine.cli import main

sys.exit(main())
