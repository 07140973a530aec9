"""Unit tests: pure Python (no g++), one file per compiler module.

The shared helpers live in ``tests/unit/graphs.py`` (hand-built IR graphs) and
``tests/unit/reference.py`` (independent Fraction/Python-int reference
arithmetic); they are imported as ``tests.unit.*``, so the repository root must be
importable also when pytest is started as a plain ``pytest`` command.
"""

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
