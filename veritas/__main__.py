"""``python -m veritas`` == the ``veritas`` command (works without the console script installed)."""
import sys

from veritas.cli import main

sys.exit(main())
