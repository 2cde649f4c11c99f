"""Where the config is found (issue #17): `--config`, then `$DPI_CONFIG`, then
`./dpi.toml`, then `/etc/dpi/dpi.toml`; the summary names the file and what its allow
rules removed; the file is read once per run; and the README's cron recipe, run from a
working directory without a dpi.toml as cron does, alerts when something new appears
and stays silent otherwise."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import dpi.config
from dpi.cli import main
from tests.builders.conversation import Conversation, http_request, http_response

ROOT = Path(__file__).resolve().parents[2]
CARD = "5555555555554444"
EMAIL = "lee.okafor@mail.shopper-demo.net"

# The README's cron line (section "cron / systemd"), with its paths as placeholders.
CRON_LINE = (
    "cd {inventory} && dpi scan {mirror} -q --no-progress -o new.csv && "
    "{{ test ! -f current.csv || dpi diff current.csv new.csv --fail-on new > diff.txt || cat diff.txt; "
    "mv new.csv current.csv; }}"
)


def _capture(path: Path, api: str = "/v1/cards", body: dict[str, str] | None = None) -> Path:
    conv = Conversation().handshake()
    conv.request(http_request("POST", api, json.dumps(body or {"pan": CARD}).encode()))
    conv.response(http_response(json.dumps({"email": EMAIL}).encode()))
    return conv.close().write(path)


def _toml(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


ALLOW_EMAIL = '[[allow]]\ndata_type = "EMAIL_ADDRESS"\n'


@pytest.fixture
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Four config files, each allowing something else, and a working directory."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.delenv("DPI_CONFIG", raising=False)
    system = _toml(tmp_path / "etc" / "dpi.toml", '[[allow]]\nfield = "system"\n')
    monkeypatch.setattr(dpi.config, "SYSTEM_CONFIG", system)
    return {
        "explicit": _toml(tmp_path / "explicit.toml", '[[allow]]\nfield = "explicit"\n'),
        "env": _toml(tmp_path / "env.toml", '[[allow]]\nfield = "env"\n'),
        "local": work / "dpi.toml",
        "system": system,
    }


def test_lookup_order(places: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    assert dpi.config.find_config(None) == places["system"]
    _toml(places["local"], '[[allow]]\nfield = "local"\n')
    assert dpi.config.find_config(None) == Path("dpi.toml")
    monkeypatch.setenv("DPI_CONFIG", str(places["env"]))
    assert dpi.config.find_config(None) == places["env"]
    assert dpi.config.find_config(str(places["explicit"])) == places["explicit"]
    places["system"].unlink()
    places["local"].unlink()
    monkeypatch.delenv("DPI_CONFIG")
    assert dpi.config.find_config(None) is None


def test_a_named_file_that_is_missing_is_an_error(
    places: dict[str, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capture = _capture(tmp_path / "c.pcap")
    monkeypatch.setenv("DPI_CONFIG", str(tmp_path / "missing.toml"))
    assert main(["scan", str(capture), "-q"]) == 2
    assert "$DPI_CONFIG=" in capsys.readouterr().err
    assert main(["scan", str(capture), "-q", "--config", str(tmp_path / "missing.toml")]) == 2


def test_summary_names_the_file_and_the_rows_removed(
    places: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capture = _capture(tmp_path / "c.pcap")
    _toml(places["system"], ALLOW_EMAIL)
    assert main(["scan", str(capture), "--no-progress"]) == 0
    out = capsys.readouterr()
    assert f"config: {places['system']} (allow rules removed 1 row)" in out.err
    assert "EMAIL_ADDRESS" not in out.out and "CARD_NUMBER" in out.out
    places["system"].unlink()
    assert main(["scan", str(capture), "--no-progress"]) == 0
    out = capsys.readouterr()
    assert "config: none" in out.err and "EMAIL_ADDRESS" in out.out


def test_the_config_is_read_once_per_run(
    places: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    capture = _capture(tmp_path / "c.pcap")
    reads: list[Path | None] = []
    real = dpi.config.load_config

    def counting(path: Path | None) -> dpi.config.Config:
        reads.append(path)
        return real(path)

    monkeypatch.setattr(dpi.config, "load_config", counting)
    assert main(["scan", str(capture), "-q", "-o", str(tmp_path / "x.csv")]) == 0
    assert reads == [places["system"]]
    reads.clear()
    assert main(["check", str(capture), "-q"]) in (0, 1)
    assert reads == [places["system"]]


def test_batch_scans_use_the_config_found(
    places: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The workers get the text of the file the lookup found (before: ./dpi.toml only)."""
    capture = _capture(tmp_path / "c.pcap")
    monkeypatch.setenv("DPI_CONFIG", str(_toml(tmp_path / "env.toml", ALLOW_EMAIL)))
    out = tmp_path / "inv.json"
    assert main(["scan", str(capture), "--jobs", "1", "-q", "-o", str(out)]) == 0
    assert {r["data_type"] for r in json.loads(out.read_text())} == {"CARD_NUMBER"}


def test_the_readme_cron_recipe_alerts_only_on_something_new(tmp_path: Path) -> None:
    dpi_bin = shutil.which("dpi", path=str(Path(sys.executable).parent))
    if dpi_bin is None:
        pytest.skip("the dpi console script is not installed beside this Python")
    inventory, mirror, state, home = (tmp_path / n for n in ("inventory", "mirror", "state", "home"))
    for directory in (inventory, mirror, home):
        directory.mkdir()
    config = _toml(
        tmp_path / "etc" / "dpi.toml",
        f'[scan]\nstate = "{state}"\njobs = 1\nsettle_seconds = 0\n' + ALLOW_EMAIL,
    )
    _capture(mirror / "a.pcap")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert CRON_LINE.format(inventory="/srv/inventory", mirror="/var/capture/mirror") in readme
    line = CRON_LINE.format(inventory=inventory, mirror=mirror)
    # cron's environment: a bare PATH with dpi's directory, HOME as working directory,
    # the config named by DPI_CONFIG (as the cron file sets it).
    env = {
        "PATH": f"{Path(dpi_bin).parent}:/usr/bin:/bin",
        "HOME": str(home),
        "DPI_CONFIG": str(config),
        "LANG": "C.UTF-8",
    }

    def cron() -> str:
        result = subprocess.run(["/bin/sh", "-c", line], cwd=home, env=env, capture_output=True,
                                text=True, timeout=300, check=False)
        return result.stdout + result.stderr  # what cron mails

    assert cron() == ""  # first run: the inventory is made, nothing to compare
    current = (inventory / "current.csv").read_text()
    assert "CARD_NUMBER" in current
    assert "EMAIL_ADDRESS" not in current  # the config's allow rule: the file was found
    assert (state).exists()  # and its [scan] state
    assert cron() == ""  # nothing new
    _capture(mirror / "b.pcap", api="/v1/patients", body={"card": "4111111111111111"})
    mail = cron()
    assert "new_api" in mail and "/v1/patients" in mail
    assert "4111111111111111" not in mail
    assert cron() == ""  # the new API is known now
    assert not (home / "dpi.toml").exists() and sorted(os.listdir(home)) == []
