"""`python -m classmill.serve BUNDLE`: the same as `classmill-serve BUNDLE`."""

import sys

from classmill.serve.cli import main

sys.exit(main())
