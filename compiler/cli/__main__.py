"""``python -m trigc.cli``: the ``trigc`` command."""

import sys

from trigc.cli.app import main

sys.exit(main())
