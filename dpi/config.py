"""`dpi.toml`: user classifiers, allow-lists and scan defaults, without editing the package.

```toml
[[classifiers]]                # a new classifier: regexes, hints, optional checksum
data_type = "EMPLOYEE_ID"
category = "PII"
patterns = ['EMP-\\d{6}']
hints = ["employee", "staff"]
confidence = 0.8               # of a bare match; hint_boost is added with a hint

[[allow]]                      # silence rows: every key given must match (globs)
api = "GET /health"
[[allow]]
field = "trace*"
data_type = "PHONE_NUMBER"
```

Python classifiers can also come from installed packages through the entry-point group
`dpi.classifiers` (each entry point names a `Classifier` subclass).

Where the file is found (`find_config`), first match wins: `--config FILE`, then
`$DPI_CONFIG`, then `./dpi.toml`, then `/etc/dpi/dpi.toml` (where services and cron jobs,
whose working directory is not the user's, find it). A file named by `--config` or
`$DPI_CONFIG` must exist; the two default places are used only when a file is there.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from classifiers._configured import ConfigError, build_classifier
from classifiers.base import Classifier
from dpi.inventory import Row
from dpi.limits import LimitError
from dpi.limits import parse_table as parse_limits_table
from dpi.plugins import entry_points

ENTRY_POINT_GROUP = "dpi.classifiers"
_ROW_KEY = ("protocol", "server", "api", "direction", "location", "field", "data_type")
ALLOW_KEYS = ("protocol", "server", "api", "direction", "location", "field", "data_type")
ENV_VAR = "DPI_CONFIG"
LOCAL_CONFIG = Path("dpi.toml")
SYSTEM_CONFIG = Path("/etc/dpi/dpi.toml")


@dataclass(frozen=True, slots=True, kw_only=True)
class AllowRule:
    """Silences every row whose columns match all the given glob patterns."""

    patterns: tuple[tuple[str, str], ...]

    def matches(self, row: Row) -> bool:
        return all(fnmatchcase(str(getattr(row, key)), pattern) for key, pattern in self.patterns)


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    classifiers: tuple[Classifier, ...] = ()
    allow: tuple[AllowRule, ...] = ()
    scan: dict[str, Any] = field(default_factory=dict)
    # [limits]: bounds by name (dpi/limits.py), applied before --limit options.
    limits: dict[str, int] = field(default_factory=dict)
    # [policy]: `dpi check`'s rules when no --policy is given (dpi/findings/policy.py reads them).
    policy: dict[str, Any] = field(default_factory=dict)
    # The file read (None: no file) and its text (batch workers parse the same text).
    path: Path | None = None
    text: str | None = None
    tally: AllowTally = field(default_factory=lambda: AllowTally(), compare=False)

    def allowed_explain(self, entries: list[dict[str, Any]], rows: list[Row]) -> list[dict[str, Any]]:
        """`--explain` entries of the rows that survived the allow rules."""
        kept = {(r.protocol, r.server, r.api, r.direction, r.location, r.field, r.data_type) for r in rows}
        return [e for e in entries if tuple(e[k] for k in _ROW_KEY) in kept]

    def allowed(self, rows: list[Row]) -> list[Row]:
        """Rows that no allow rule silences (`removed` counts the others)."""
        if not self.allow:
            self.tally.removed = 0
            return rows
        kept = [row for row in rows if not any(rule.matches(row) for rule in self.allow)]
        self.tally.removed = len(rows) - len(kept)
        return kept

    @property
    def removed(self) -> int:
        """Rows the allow rules removed in the last `allowed` call (for the summary)."""
        return self.tally.removed


@dataclass(slots=True)
class AllowTally:
    """What the allow rules did, kept beside the frozen Config."""

    removed: int = 0


def _allow_rule(spec: Any, index: int) -> AllowRule:
    if not isinstance(spec, dict) or not spec:
        raise ConfigError(f"allow rule {index}: must be a table with at least one key")
    unknown = set(spec) - set(ALLOW_KEYS)
    if unknown:
        raise ConfigError(f"allow rule {index}: unknown keys {', '.join(sorted(unknown))}")
    if not all(isinstance(v, str) for v in spec.values()):
        raise ConfigError(f"allow rule {index}: values must be strings (glob patterns)")
    return AllowRule(patterns=tuple(sorted(spec.items())))


def entry_point_classifiers() -> list[Classifier]:
    found: list[Classifier] = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            cls = ep.load()
        except Exception as exc:  # noqa: BLE001 - a broken plug-in must not take the scan down
            raise ConfigError(f"entry point {ep.name!r} could not be loaded ({type(exc).__name__})") from None
        if not (isinstance(cls, type) and issubclass(cls, Classifier)):
            raise ConfigError(f"entry point {ep.name!r} is not a Classifier subclass")
        found.append(cls())
    return found


def find_config(
    explicit: str | os.PathLike[str] | None,
    environ: Mapping[str, str] | None = None,
) -> Path | None:
    """The config file of this run (module docstring), or None when there is none.
    Raises ConfigError when `--config` or `$DPI_CONFIG` names a file that is not there."""
    if explicit:
        return Path(explicit)
    named = (os.environ if environ is None else environ).get(ENV_VAR, "")
    if named:
        path = Path(named)
        if not path.is_file():
            raise ConfigError(f"${ENV_VAR}={named}: no such file")
        return path
    for candidate in (LOCAL_CONFIG, SYSTEM_CONFIG):
        if candidate.is_file():
            return candidate
    return None


def load_config(path: Path | None) -> Config:
    """Parse `path` (None: no file). Raises ConfigError with a one-line reason."""
    classifiers: list[Classifier] = entry_point_classifiers()
    if path is None:
        return Config(classifiers=tuple(classifiers))
    import tomllib  # here: most runs have no file to parse

    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror or 'unreadable'}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({str(exc).splitlines()[0]})") from None
    unknown = set(data) - {"classifiers", "allow", "scan", "limits", "policy"}
    if unknown:
        raise ConfigError(f"{path}: unknown sections {', '.join(sorted(unknown))}")
    for spec in data.get("classifiers", []):
        if not isinstance(spec, dict):
            raise ConfigError(f"{path}: [[classifiers]] entries must be tables")
        classifiers.append(build_classifier(spec))
    allow = tuple(_allow_rule(spec, i + 1) for i, spec in enumerate(data.get("allow", [])))
    scan = data.get("scan", {})
    if not isinstance(scan, dict):
        raise ConfigError(f"{path}: [scan] must be a table")
    table = data.get("limits", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [limits] must be a table")
    try:
        limits = parse_limits_table(table)
    except LimitError as exc:
        raise ConfigError(f"{path}: [limits] {exc}") from None
    policy = data.get("policy", {})
    if not isinstance(policy, dict):
        raise ConfigError(f"{path}: [policy] must be a table")
    return Config(
        classifiers=tuple(classifiers),
        allow=allow,
        scan=scan,
        limits=limits,
        policy=policy,
        path=path,
        text=text,
    )
