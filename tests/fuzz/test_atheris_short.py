"""A short coverage-guided run of every atheris harness (fuzz/README.md has the long one).

Each harness runs as a subprocess (libFuzzer exits the process when done) on a fresh
corpus seeded from samples/ only (`DPI_FUZZ_SEEDS=samples`: building seeds from every
shared capture is the long run's job), for a fixed number of executions: repeatable
work, no wall-clock assertion. A crash fails the test with the harness's last lines,
never with input bytes (libFuzzer writes the input to the temporary directory).
Skipped where atheris is not installed.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TARGETS = ["capture", "reassembly", "http1", "http2", "kafka", "mysql", "payload"]
# Executions per target: enough to mutate past the seeds into every parser's error
# paths, small enough that all seven stay within a few seconds of work each.
RUNS = 1000

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("atheris") is None, reason="atheris is not installed"
)


@pytest.mark.parametrize("target", TARGETS)
def test_short_fuzz_run_finds_nothing(target: str, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    env = dict(os.environ, DPI_FUZZ_SEEDS="samples", PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "fuzz" / f"fuzz_{target}.py"),
            f"-runs={RUNS}",
            "-seed=1",  # repeatable mutations
            "-max_len=4096",
            f"-artifact_prefix={tmp_path}/",
            str(corpus),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=300,
        check=False,
    )
    tail = "\n".join(result.stderr.splitlines()[-25:])
    assert result.returncode == 0, f"fuzz_{target} failed:\n{tail}"
    assert f"Done {RUNS} runs" in result.stderr, tail
    assert any(corpus.iterdir()), "no seed corpus was written"
