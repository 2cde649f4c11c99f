"""`python -m dpi` is the `dpi` command."""

import sys

from dpi.cli import main

sys.exit(main())
