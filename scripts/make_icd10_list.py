"""Writes the ICD-10-CM code list the diagnosis-code classifier reads
(classifiers/phi/data/icd10cm-codes.txt.gz).

    pip install simple-icd-10-cm && python scripts/make_icd10_list.py

The list is the plain-text code list that the `simple_icd_10_cm` package bundles (CDC/NCHS
ICD-10-CM, a US government work in the public domain): every code without its dot, one
per line, sorted, gzip-compressed (about 210 KB). Shipping it as data instead of
installing the package saves 10 MB of the core install (the package's 9.5 MB XML tabular
list, which dpi never reads) and makes the list fixed: a scan does not change when the
package is upgraded. Same input, same bytes (gzip mtime 0).
"""

from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "classifiers" / "phi" / "data" / "icd10cm-codes.txt.gz"


def main() -> int:
    spec = importlib.util.find_spec("simple_icd_10_cm")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("simple_icd_10_cm is not installed: pip install simple-icd-10-cm")
    data_dir = Path(next(iter(spec.submodule_search_locations))) / "data"
    source = max(data_dir.glob("code-list-*.txt"))
    codes = sorted({line.strip() for line in source.read_text(encoding="ascii").splitlines()} - {""})
    text = "".join(f"{code}\n" for code in codes).encode("ascii")
    OUT.write_bytes(gzip.compress(text, compresslevel=9, mtime=0))
    print(f"{OUT}: {len(codes)} codes from {source.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
