import sys

from ms5harness.cli import main

sys.exit(main())
