"""What the subcommands of the `dpi` command line share: exit codes, one-line errors,
the run's config, protobuf schemas, the TLS layer, the end-of-scan summary and how an
output file is written.

Exit status (spec/inventory.md, "The command line"), one definition for every
subcommand: 0 done (even if damaged data was skipped: warnings say what and where); 1 a
policy failure the user asked for (`--strict` with anything skipped, `dpi check` with a
violated rule, `dpi diff --fail-on`); 2 bad usage, a state that cannot be used, or no
readable capture at all; 130 interrupted. Errors are one line, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from dpi.outputs.files import write_atomic

EXIT_OK = 0
EXIT_POLICY = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

CONFIG_HELP = "dpi.toml with extra classifiers, allow rules and defaults (default: $DPI_CONFIG, then ./dpi.toml, then /etc/dpi/dpi.toml)"
PROTO_HELP = "a .proto file, or a directory of them, for gRPC/protobuf field names (repeatable)"


def err(message: str) -> None:
    sys.stderr.write(f"dpi: {message}\n")


class UsageError(Exception):
    """Bad usage: `dpi: error: MESSAGE` on stderr and exit 2."""


def load_schemas(args: argparse.Namespace) -> Any:
    """Always a registry: server reflection seen in the capture fills it too."""
    from protocols.protobuf import SchemaError, SchemaRegistry

    registry = SchemaRegistry()
    try:
        if args.proto:
            for warning in registry.load_proto_dirs([Path(p) for p in args.proto]):
                err(f"warning: {warning}")
        for path in args.descriptor_set:
            registry.load_descriptor_set(Path(path))
    except SchemaError as exc:
        raise UsageError(str(exc)) from None
    return registry


def scan_summary(stats: Any, rows: list[Any], seconds: float) -> str:
    by_category: dict[str, int] = {}
    for row in rows:
        by_category[row.category] = by_category.get(row.category, 0) + 1
    apis = len({(r.protocol, r.server, r.api) for r in rows})
    mb = stats.bytes_read / 1e6
    rate = mb / seconds if seconds > 0 else 0.0
    categories = ", ".join(f"{k} {v}" for k, v in sorted(by_category.items())) or "none"
    protocols = ", ".join(f"{k} {v}" for k, v in sorted(stats.messages.items())) or "none"
    from dpi.runs.strict import lost_data, summary_line

    skipped = lost_data(stats)
    if stats.unidentified_flows:
        skipped.append(f"{stats.unidentified_flows} flows of unknown protocols")
    lines = [
        (
            f"scanned {stats.files} file(s), {mb:.1f} MB, {stats.frames} packets, "
            f"{stats.flows} TCP flows ({stats.partial_flows} without handshake) "
            f"in {seconds:.1f} s ({rate:.1f} MB/s)"
        ),
        f"messages: {protocols}",
        f"sensitive fields: {len(rows)} on {apis} APIs ({categories})",
    ]
    if stats.encrypted_flows or stats.decrypted_flows:
        lines.append(
            f"tls: {stats.decrypted_flows + stats.encrypted_flows} flows, "
            f"{stats.decrypted_flows} decrypted, {stats.encrypted_flows} not decrypted "
            f"(see --tls-coverage)"
        )
    if skipped:
        lines.append("skipped: " + "; ".join(skipped))
    anomalies = summary_line(stats)
    if anomalies:  # what the dissectors and the payload decoder could not read whole
        lines.append(anomalies)
    hits = getattr(stats, "limits_hit", None)
    if hits:
        lines.append("limits hit: " + ", ".join(f"{k} {v}" for k, v in sorted(hits.items())))
    return "\n".join(lines)


def run_config(args: argparse.Namespace) -> Any:
    """The run's config (dpi/config.py: --config, $DPI_CONFIG, ./dpi.toml,
    /etc/dpi/dpi.toml), read once and kept on `args`."""
    loaded = getattr(args, "loaded_config", None)
    if loaded is not None:
        return loaded
    from classifiers._configured import ConfigError
    from dpi.build import BuildError, load_config  # remembered: in-process batch workers reuse it
    from dpi.config import find_config

    try:
        loaded = load_config(find_config(args.config))
    except (ConfigError, BuildError) as exc:
        raise UsageError(str(exc)) from None
    args.loaded_config = loaded
    return loaded


def config_line(config: Any) -> str:
    """The summary's line about the config: which file, what its allow rules removed."""
    if config.path is None:
        return "config: none (no --config, $DPI_CONFIG, ./dpi.toml or /etc/dpi/dpi.toml)"
    removed = config.removed
    return f"config: {config.path} (allow rules removed {removed} row{'' if removed == 1 else 's'})"


def tls_layer(args: argparse.Namespace) -> tuple[Any, Any]:
    """The TLS layer (always: TLS flows are reported even without keys) and its
    coverage list. A bad key log is a usage error naming the line, never a secret."""
    from dpi.build import BuildError, load_keylog
    from dpi.extras import require
    from dpi.findings.coverage import TlsCoverage
    from dpi.tls import TlsLayerFactory

    if args.keylog:
        require("cryptography", "--keylog")  # the extra named as the option is
    try:
        keylog = load_keylog(args.keylog)
    except BuildError as exc:
        raise UsageError(str(exc)) from None
    return TlsLayerFactory(keylog), TlsCoverage()


def write_inventory(rows: list[Any], fmt: str, out: str | None, exposure: Any = None) -> None:
    """The inventory to `out` or stdout; with `exposure` (--findings/--internal), CSV and
    JSON carry its extra columns (dpi/findings/egress.py), other formats the contract's."""
    from dpi.outputs.export import export_bytes

    if exposure is not None and fmt in ("csv", "json"):
        data = exposure.inventory_text(rows, fmt).encode("utf-8")
    else:
        data = export_bytes(rows, fmt)
    if out:
        write_atomic(Path(out), data)
    else:
        sys.stdout.write(data.decode("utf-8"))  # text formats only (checked up front)
        sys.stdout.flush()
