"""Atheris harness: the mysql dissector (protocols/mysql/) fed any conversation.

The harness itself is fuzz/_dissector_harness.py, shared by every dissector. Long run:
see fuzz/README.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fuzz._dissector_harness import run  # after the path is set

if __name__ == "__main__":
    run(dissector="mysql", target="mysql")
