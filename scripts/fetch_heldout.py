"""Fetches the held-out captures that the repository lists but does not redistribute.

    python scripts/fetch_heldout.py              # into tests/heldout/captures/
    python scripts/fetch_heldout.py --from DIR   # copy from a directory you already have

Some public captures carry what appear to be real people's personal data (mirrored
production traffic). They measure detection on exactly the traffic dpi is for, so their
labels are in tests/heldout/labels.csv, but the files themselves stay upstream:
`tests/heldout/external.csv` names each one by repository, commit, path and SHA-256.
This script downloads them from GitHub at that commit (or copies them from `--from`),
checks the digest and stores them where bench/heldout_quality.py looks; git ignores them.
Without them the benchmark scores the rest of the set and says what it left out.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import sys
import urllib.request
from pathlib import Path

HELDOUT = Path(__file__).resolve().parents[1] / "tests" / "heldout"
RAW = "https://raw.githubusercontent.com/{repository}/{commit}/{path}"
MAX_BYTES = 8 * 1024 * 1024  # held-out captures are small; refuse anything else


def external_captures(heldout: Path = HELDOUT) -> list[dict[str, str]]:
    with (heldout / "external.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _download(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:
        return bytes(response.read(MAX_BYTES + 1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source", type=Path,
                        help="a directory holding the files under their upstream or held-out names")
    args = parser.parse_args(argv)
    failed = 0
    for entry in external_captures():
        target = HELDOUT / "captures" / entry["capture"]
        try:
            if args.source is not None:
                candidates = [args.source / entry["capture"], args.source / Path(entry["path"]).name]
                found = next((c for c in candidates if c.is_file()), None)
                if found is None:
                    raise OSError(f"not in {args.source}")
                data = found.read_bytes()
            else:
                data = _download(RAW.format(**entry))
        except OSError as exc:
            print(f"{entry['capture']}: not fetched ({exc.__class__.__name__}: {exc})", file=sys.stderr)
            failed += 1
            continue
        if len(data) > MAX_BYTES or hashlib.sha256(data).hexdigest() != entry["sha256"]:
            print(f"{entry['capture']}: refused, its SHA-256 is not the one external.csv names",
                  file=sys.stderr)
            failed += 1
            continue
        target.write_bytes(data)
        print(f"{entry['capture']}: {len(data):,} bytes, digest checked")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
