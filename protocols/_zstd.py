"""The Zstandard module (RFC 8878) every zstd path uses: the standard library's
`compression.zstd` from Python 3.14 on, its backport `backports.zstd` before (the same
API, PEP 784). Chosen over `zstandard` (24 MB installed, 1.8 MB for the backport) for
the size of the core install (issue #17); its `ZstdDecompressor.decompress(data,
max_length)` bounds each step's output as `zlib` does, which bounded reading needs.
"""

from __future__ import annotations

import sys

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

__all__ = ["zstd"]
