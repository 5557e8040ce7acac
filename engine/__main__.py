import sys

from physreel.engine.cli import main

sys.exit(main())
