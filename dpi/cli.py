"""`dpi` command line (spec/inventory.md, "The command line"). The only module that
touches argv, stdout and stderr.

Exit status: 0 the scan completed (even if damaged data was skipped: warnings say what
and where); 2 bad usage or no readable capture at all; 1 a policy failure the user asked
for (`--strict` with warnings). Errors are one line, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dpi import cli_batch, cli_check, logsetup
from dpi.apispec import command as apispec_command
from dpi.extras import MissingExtra, hint_for

EXIT_OK = 0
EXIT_POLICY = 1
EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line and status 2, as argparse does, but ours
        self.exit(EXIT_USAGE, f"dpi: error: {message}\n")


class _VersionAction(argparse.Action):
    """`dpi --version`: the installed distribution's version, looked up only when asked."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        sys.stdout.write(f"dpi {_version()}\n")
        parser.exit(EXIT_OK)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("dpi-inventory")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "(not installed)"


CONFIG_HELP = "dpi.toml with extra classifiers, allow rules and defaults (default: $DPI_CONFIG, then ./dpi.toml, then /etc/dpi/dpi.toml)"
PROTO_HELP = "a .proto file, or a directory of them, for gRPC/protobuf field names (repeatable)"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="dpi", description="Inventory the sensitive data in packet captures.")
    parser.add_argument("--version", action=_VersionAction, help="print the version and exit")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    scan = sub.add_parser("scan", help="scan captures (files or directories) into one inventory")
    scan.add_argument("paths", nargs="+", metavar="PATH", help="pcap/pcapng files (.gz/.zst too), directories, s3:// URLs, or - for one capture on stdin")
    _add_scan_options(scan)
    check = sub.add_parser("check", help="scan captures (or read an inventory) and fail when a data policy is violated")
    check.add_argument("paths", nargs="*", metavar="PATH", help="pcap/pcapng files (.gz/.zst too) or directories")
    _add_scan_options(check)
    cli_check.add_check_arguments(check)
    spec = sub.add_parser("spec", help="scan captures and write OpenAPI/AsyncAPI documents of the APIs and Kafka topics seen")
    spec.add_argument("paths", nargs="+", metavar="PATH", help="pcap/pcapng files (.gz/.zst too) or directories")
    _add_scan_options(spec)
    apispec_command.add_spec_arguments(spec)  # dpi/apispec/command.py
    watch = sub.add_parser("watch", help="inventory live traffic from a network interface (Linux, root)")
    watch.add_argument("-i", "--interface", required=True, metavar="IFACE", help="network interface, e.g. eth0 or lo")
    watch.add_argument("--bpf", metavar="FILTER", help="tcpdump filter expression, compiled once by libpcap")
    watch.add_argument("-o", "--out", required=True, metavar="FILE", help="inventory file, rewritten at every flush")
    watch.add_argument("--format", choices=("csv", "json"), default="csv", help="output format (default csv)")
    watch.add_argument("--every", type=float, default=5.0, metavar="MINUTES", help="write the inventory every N minutes (default 5)")
    watch.add_argument("--keep", type=int, default=5, metavar="N", help="previous inventories kept as FILE.1..FILE.N (default 5)")
    watch.add_argument("--duration", type=float, metavar="SECONDS", help="stop after this long (default: until SIGINT/SIGTERM)")
    watch.add_argument("--proto", action="append", default=[], metavar="PATH", help=PROTO_HELP)
    watch.add_argument("--descriptor-set", action="append", default=[], metavar="FILE", help="compiled protobuf descriptor set (repeatable)")
    watch.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
    watch.add_argument("-q", "--quiet", action="store_true", help="no summary, only warnings and errors")
    watch.add_argument("-v", "--verbose", action="count", default=0, help="more logging on stderr")
    report = sub.add_parser("report", help="write a self-contained HTML report of an inventory")
    report.add_argument("inventory", metavar="INVENTORY", nargs="?", help="inventory written by `dpi scan` (CSV, JSON, Parquet or Excel); default with --state: the state's last run")
    report.add_argument("--html", required=True, metavar="FILE", help="write the HTML page here")
    report.add_argument("--findings-in", metavar="FILE", help="findings written by `dpi scan --findings` (default: computed from the inventory)")
    # The old spelling: `--findings` is an output everywhere else (dpi scan, dpi check).
    report.add_argument("--findings", dest="findings_legacy", metavar="FILE", help=argparse.SUPPRESS)
    report.add_argument("--internal", action="append", default=[], metavar="CIDR", help="internal network (repeatable; default: the private ranges)")
    report.add_argument("--compliance-dir", metavar="DIR", help="also write pci-scope.csv, hipaa-phi-flows.csv and gdpr-article30.csv here")
    report.add_argument("--state", metavar="PATH", help="scan state (dpi scan --state): add when each field first appeared, a timeline and what is new since the previous run")
    report.add_argument("--summary-json", metavar="FILE", help="the scan's --summary-json: the header names the captures behind the inventory")
    report.add_argument("-q", "--quiet", action="store_true", help="no summary line")
    report.set_defaults(verbose=0)
    cli_batch.add_diff_parser(sub)
    return parser


def _add_scan_options(parser: argparse.ArgumentParser) -> None:
    """The options of `scan`, which `check` takes too (it scans the same way)."""
    parser.add_argument("-o", "--out", metavar="FILE", help="write the inventory here (default: stdout); its extension (.csv .json .parquet .xlsx) sets the format")
    parser.add_argument("--format", choices=("csv", "json", "parquet", "xlsx"), help="output format (default: from --out's extension, else csv; parquet and xlsx need --out)")
    parser.add_argument("--proto", action="append", default=[], metavar="PATH", help=PROTO_HELP)
    parser.add_argument("--topic-schema", action="append", default=[], metavar="TOPIC=MESSAGE", help="decode Kafka values of TOPIC (a glob) as this protobuf message type from --proto/--descriptor-set (repeatable)")
    parser.add_argument("--avro-schema", action="append", default=[], metavar="DIR", help="directory of Avro .avsc schemas for Kafka values (repeatable); Schema Registry answers in the capture are used too")
    parser.add_argument("--schema-registry", metavar="URL", help="fetch unknown Avro schema ids from this Schema Registry (network access: an explicit opt-in)")
    parser.add_argument("--descriptor-set", action="append", default=[], metavar="FILE", help="compiled protobuf descriptor set (repeatable)")
    parser.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
    parser.add_argument("--explain", metavar="FILE", help="write why each row is there (JSON; never values)")
    parser.add_argument("--summary-json", metavar="FILE", help="write the scan summary as JSON")
    parser.add_argument("--strict", action="store_true", help="exit 1 when anything was skipped; re-raise internal errors")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    parser.add_argument("-q", "--quiet", action="store_true", help="no summary, only warnings and errors")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging on stderr")
    parser.add_argument("--limit", action="append", default=[], metavar="NAME=VALUE", help="set a bound, e.g. max_body_bytes=16m (repeatable; names: README 'Hardening')")
    cli_batch.add_scan_arguments(parser)  # --state, --jobs, --dask (dpi/cli_batch.py)
    parser.add_argument("--internal", action="append", default=[], metavar="CIDR", help="internal network (repeatable; default: the private ranges); adds the egress and auth_share columns")
    parser.add_argument("--keylog", action="append", default=[], metavar="FILE", help="TLS key log (SSLKEYLOGFILE format) to decrypt TLS flows (repeatable); pcapng secrets blocks are used too")
    parser.add_argument("--tls-coverage", metavar="FILE", help="write the TLS flows seen and whether each was decrypted, or why not (CSV; JSON for *.json; Excel for *.xlsx)")
    parser.add_argument("--findings", metavar="FILE", help="write exposure findings (CSV; JSON for *.json; Excel for *.xlsx); adds the egress and auth_share columns")
    parser.add_argument("--sensor-pattern", metavar="REGEX", help="file-name regex whose 'sensor' group (or first group) names the sensor of rotated capture sets")
    parser.add_argument("--separate-files", action="store_true", help="read every file alone (no capture sets, no sensor merge)")


def _err(message: str) -> None:
    sys.stderr.write(f"dpi: {message}\n")


def _load_schemas(args: argparse.Namespace) -> Any:
    """Always a registry: server reflection seen in the capture fills it too."""
    from protocols.protobuf import SchemaError, SchemaRegistry

    registry = SchemaRegistry()
    try:
        if args.proto:
            for warning in registry.load_proto_dirs([Path(p) for p in args.proto]):
                _err(f"warning: {warning}")
        for path in args.descriptor_set:
            registry.load_descriptor_set(Path(path))
    except SchemaError as exc:
        raise _UsageError(str(exc)) from None
    return registry


class _UsageError(Exception):
    pass


def _topic_schemas(args: argparse.Namespace, schemas: Any) -> dict[str, str]:
    """`--topic-schema TOPIC=MESSAGE`: each message type must be in the loaded schemas."""
    mapping: dict[str, str] = {}
    for text in args.topic_schema:
        topic, sep, message = text.partition("=")
        if not sep or not topic or not message:
            raise _UsageError(f"--topic-schema wants TOPIC=MESSAGE, got {text!r}")
        if schemas.resolve(message) is None:
            raise _UsageError(
                f"--topic-schema: message type {message!r} is not in the --proto/--descriptor-set schemas"
            )
        mapping[topic] = message
    return mapping


def _avro_schemas(args: argparse.Namespace) -> Any:
    """`--avro-schema DIR` and `--schema-registry URL` (protocols/_avro_schemas.py)."""
    from protocols._avro_schemas import AvroSchemaError, AvroSchemas

    dirs = getattr(args, "avro_schema", [])
    url = getattr(args, "schema_registry", None) or ""
    if (dirs or url) and cli_batch.batch_requested(args):
        raise _UsageError("--avro-schema/--schema-registry do not work with --state, --jobs or --dask yet")
    try:
        return AvroSchemas.from_dirs([Path(d) for d in dirs], url)
    except AvroSchemaError as exc:
        raise _UsageError(str(exc)) from None


def _summary(stats: Any, rows: list[Any], seconds: float) -> str:
    by_category: dict[str, int] = {}
    for row in rows:
        by_category[row.category] = by_category.get(row.category, 0) + 1
    apis = len({(r.protocol, r.server, r.api) for r in rows})
    mb = stats.bytes_read / 1e6
    rate = mb / seconds if seconds > 0 else 0.0
    categories = ", ".join(f"{k} {v}" for k, v in sorted(by_category.items())) or "none"
    protocols = ", ".join(f"{k} {v}" for k, v in sorted(stats.messages.items())) or "none"
    from dpi.strict import lost_data, summary_line

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


def _config(args: argparse.Namespace) -> Any:
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
        raise _UsageError(str(exc)) from None
    args.loaded_config = loaded
    return loaded


def _config_line(config: Any) -> str:
    """The summary's line about the config: which file, what its allow rules removed."""
    if config.path is None:
        return "config: none (no --config, $DPI_CONFIG, ./dpi.toml or /etc/dpi/dpi.toml)"
    removed = config.removed
    return f"config: {config.path} (allow rules removed {removed} row{'' if removed == 1 else 's'})"


# -o's extension -> the format written when --format is not given.
FORMAT_OF_EXTENSION = {".csv": "csv", ".json": "json", ".parquet": "parquet", ".pq": "parquet", ".xlsx": "xlsx"}


def _format_from_extension(args: argparse.Namespace, scan_table: dict[str, Any]) -> None:
    """`-o x.parquet` writes Parquet unless --format says otherwise; an `out` from
    dpi.toml [scan] does the same unless [scan] names a format."""
    if args.format is not None:
        return
    out = args.out
    if out is None and "format" not in scan_table and isinstance(scan_table.get("out"), str):
        out = scan_table["out"]
    if out:
        args.format = FORMAT_OF_EXTENSION.get(Path(out).suffix.lower())


def _check_inputs(args: argparse.Namespace) -> None:
    """Standard input (`-`) and URLs: what they need before anything runs."""
    from dpi.extras import require_url, url_scheme

    urls = [p for p in args.paths if url_scheme(p) is not None]
    for url in urls:
        require_url(url)
    stdin = args.paths.count("-")
    if stdin > 1:
        raise _UsageError("- (standard input) can be read only once")
    if urls and not cli_batch.batch_requested(args):
        args.jobs = 1  # objects are read file by file, as in a batch scan (dpi/sources.py)
    if stdin and cli_batch.batch_requested(args):
        raise _UsageError(
            "- (standard input) is one stream: not with URLs, --state, --jobs or --dask"
        )


def _check_extras(args: argparse.Namespace) -> None:
    """Optional libraries the asked-for outputs need (dpi/extras.py), before scanning."""
    from dpi.extras import require, require_format

    require_format(args.format, f"--format {args.format}")
    for flag, value in (("--findings", args.findings), ("--tls-coverage", args.tls_coverage)):
        if value and Path(value).suffix.lower() == ".xlsx":
            require("openpyxl", f"{flag} FILE.xlsx")
    if args.dask:
        require("dask", "--dask")
        require("distributed", "--dask")


def _check_outputs(args: argparse.Namespace) -> None:
    """Every output path writable, checked before the scan (not after it); nothing is
    created here."""
    import os

    outputs = (
        ("--out", args.out),
        ("--findings", args.findings),
        ("--explain", args.explain),
        ("--summary-json", args.summary_json),
        ("--tls-coverage", args.tls_coverage),
    )
    for flag, value in outputs:
        if not value:
            continue
        path = Path(value)
        parent = path.parent
        if path.is_dir():
            problem = "is a directory"
        elif not parent.is_dir():
            problem = f"no such directory {parent}"
        elif path.exists() and not os.access(path, os.W_OK):
            problem = "not writable"
        elif not path.exists() and not os.access(parent, os.W_OK | os.X_OK):
            problem = f"directory {parent} not writable"
        else:
            continue
        raise _UsageError(f"{flag} {value}: {problem}")


def _expand(paths: Sequence[str], warnings: list[str]) -> list[Any]:
    """`scanner.expand`, with `-` (standard input) kept in its place."""
    from dpi.scanner import Input, expand

    inputs: list[Any] = []
    for path in paths:
        inputs.extend([Input(Path(path), 0)] if path == "-" else expand([path], warnings))
    return inputs


def _scan(args: argparse.Namespace, collect: dict[str, Any] | None = None) -> int:
    """`dpi scan`. With `collect` (`dpi check`): findings are always computed, the rows
    and findings are put in it, and the inventory is written only to `--out`."""
    from dpi.build import EngineSpec, build_engine
    from dpi.scan_trace import ScanTrace

    config = _config(args)
    _format_from_extension(args, config.scan)
    problem = cli_batch.apply_scan_defaults(args, config.scan)  # dpi.toml [scan]
    if problem:
        raise _UsageError(problem)
    _check_inputs(args)
    if collect is not None and cli_batch.batch_requested(args):
        raise _UsageError("dpi check reads local captures: URLs are for dpi scan")
    _check_extras(args)
    _check_outputs(args)
    exposure = _exposure(args, always=collect is not None)
    limits, reassembly = _limits(args, config)
    schemas = collect["schemas"] if collect and "schemas" in collect else _load_schemas(args)  # dpi spec shares it
    args.topic_schemas = _topic_schemas(args, schemas)
    avro = _avro_schemas(args)
    if cli_batch.batch_requested(args):
        return cli_batch.scan(args, config, summary_tail=lambda: _config_line(config))
    tls, coverage = _tls(args)
    warnings: list[str] = []
    inputs = _expand(args.paths, warnings)
    if not inputs:
        for warning in warnings:
            _err(f"error: {warning}")
        if not warnings:
            _err("error: no capture to scan")
        return EXIT_USAGE
    for warning in warnings:
        _err(f"warning: {warning}")
    trace = ScanTrace()
    engine = build_engine(EngineSpec(
        config=config, schemas=schemas, topic_schemas=tuple(args.topic_schemas.items()), avro=avro,
        strict=args.strict, bounds=(limits, reassembly), keylog=tls.keylog,
        observers=(coverage, trace.observer) + ((exposure.observer,) if exposure is not None else ())
        + tuple((collect or {}).get("observers", ())),  # dpi spec's shape observer
    ))
    started = time.monotonic()
    bar = None
    # tqdm hides its bar off a terminal (disable=None) anyway: not importing it then
    # keeps scheduled and piped scans from loading it.
    if not args.no_progress and sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(
            total=sum(i.size for i in inputs),
            unit="B",
            unit_scale=True,
            file=sys.stderr,
            disable=None,  # off when stderr is not a terminal
            desc="scanning",
            leave=False,
        )
    try:
        scanned = trace.scan(  # scanner.scan_inputs, with -v's log and the gaps' files
            engine,
            inputs,
            bar.update if bar is not None else None,
            sensor_pattern=_sensor_pattern(args.sensor_pattern),
            separate_files=args.separate_files,
        )
    finally:
        if bar is not None:
            bar.close()
    seconds = time.monotonic() - started
    stats = engine.stats
    if scanned == 0:
        # Nothing readable: every reason is an error, one line each.
        for warning in stats.warnings:
            _err(f"error: {warning}")
        if len(inputs) > 1 or not stats.warnings:
            _err("error: no readable capture among the inputs")
        return EXIT_USAGE
    for warning in stats.warnings:
        _err(f"warning: {warning}")
    rows = config.allowed(engine.inventory.rows())
    if exposure is not None:
        exposure.compute(rows)
        if args.findings:
            exposure.write(Path(args.findings))
    if collect is not None:
        collect["rows"], collect["findings"] = rows, exposure.results if exposure else []
    if collect is not None and not args.out:
        pass  # `dpi check` writes its reports, not the inventory, unless asked
    elif exposure is not None and args.format in ("csv", "json"):
        # The extra columns (dpi/egress.py): CSV and JSON only; other formats keep the contract's.
        text = exposure.inventory_text(rows, args.format)
        if args.out:
            Path(args.out).write_text(text, encoding="utf-8", newline="")
        else:
            sys.stdout.write(text)
            sys.stdout.flush()
    else:
        cli_batch.write_inventory(rows, args.format, args.out)
    if args.explain:
        Path(args.explain).write_text(
            json.dumps(config.allowed_explain(engine.inventory.explain(), rows), indent=2) + "\n",
            encoding="utf-8",
        )
    if args.tls_coverage:
        coverage.write(Path(args.tls_coverage))  # CSV, *.json, or *.xlsx (text cells)
    if args.summary_json:
        summary = stats.as_dict() | {"rows": len(rows), "seconds": round(seconds, 3),
                                     "paths": list(args.paths)}  # for dpi report's header
        Path(args.summary_json).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    if not args.quiet:
        _err("\n".join([_summary(stats, rows, seconds), *trace.summary_lines(), _config_line(config)]))
        if exposure is not None:
            _err(exposure.summary())
    if args.strict:
        from dpi.strict import strict_failure

        failure = strict_failure(
            stats,
            warnings=len(stats.warnings) + len(warnings),
            dropped_fields=engine.inventory.dropped_fields,
        )
        if failure:  # what was skipped, by counter name
            _err(failure)
            return EXIT_POLICY
    return EXIT_OK


def _limits(args: argparse.Namespace, config: Any) -> tuple[Any, Any]:
    """Bounds: the defaults, then dpi.toml's [limits], then --limit (dpi/limits.py)."""
    from dpi.limits import LimitError, apply_limits, parse_limit

    overrides = dict(getattr(config, "limits", {}))
    try:
        for text in getattr(args, "limit", []):
            name, value = parse_limit(text)
            overrides[name] = value
        return apply_limits(overrides)
    except LimitError as exc:
        raise _UsageError(str(exc)) from None


def _tls(args: argparse.Namespace) -> tuple[Any, Any]:
    """The TLS layer (always: TLS flows are reported even without keys) and its
    coverage list. A bad key log is a usage error naming the line, never a secret."""
    from dpi.coverage import TlsCoverage
    from dpi.tls import KeyLog, KeyLogError, TlsLayerFactory

    keylog = KeyLog()
    try:
        for path in args.keylog:
            keylog.add_file(path)
    except KeyLogError as exc:
        raise _UsageError(str(exc)) from None
    return TlsLayerFactory(keylog), TlsCoverage()


def _exposure(args: argparse.Namespace, always: bool = False) -> Any:
    """Findings are gathered only when asked for (`--findings` or `--internal`, or
    `dpi check`, whose rules read them)."""
    if not always and not args.findings and not args.internal:
        return None
    from dpi.egress import NetworkError
    from dpi.findings.run import FindingsRun

    try:
        return FindingsRun(args.internal)
    except NetworkError as exc:
        raise _UsageError(str(exc)) from None


def _report(args: argparse.Namespace) -> int:
    from dpi.egress import NetworkError
    from dpi.report import ReportError, write_report

    findings_in = args.findings_in
    if args.findings_legacy:
        if findings_in:
            raise _UsageError("give the findings once, with --findings-in")
        _err("warning: dpi report --findings is now --findings-in (the old spelling will go)")
        findings_in = args.findings_legacy
    if not args.inventory and not args.state:
        raise _UsageError("give an INVENTORY, or --state PATH")
    try:
        shown = write_report(
            Path(args.inventory) if args.inventory else None,
            Path(args.html),
            findings_path=Path(findings_in) if findings_in else None,
            internal=args.internal,
            compliance_dir=Path(args.compliance_dir) if args.compliance_dir else None,
            state=args.state,
            summary_path=Path(args.summary_json) if args.summary_json else None,
        )
    except (ReportError, NetworkError) as exc:
        raise _UsageError(str(exc)) from None
    if not args.quiet:
        _err(f"report: {args.html} ({shown} findings)")
    return EXIT_OK


def _sensor_pattern(text: str | None) -> Any:
    import re

    try:
        return re.compile(text) if text else None
    except re.error as exc:
        raise _UsageError(f"--sensor-pattern: {exc}") from None


def _watch(args: argparse.Namespace) -> int:
    from dpi.build import EngineSpec, build_engine
    from dpi.inventory import to_csv, to_json
    from dpi.limits import apply_limits
    from dpi.live import LiveCapture, LiveError, watch, write_rotated

    if args.every <= 0 or args.keep < 0:
        raise _UsageError("--every must be positive and --keep not negative")
    schemas = _load_schemas(args)
    config = _config(args)
    # The default bounds: dpi watch has never applied dpi.toml [limits].
    engine = build_engine(EngineSpec(config=config, schemas=schemas, bounds=apply_limits({})))
    out = Path(args.out)

    def flush(engine: Any) -> None:
        rows = config.allowed(engine.inventory.rows())
        write_rotated(out, to_csv(rows) if args.format == "csv" else to_json(rows), args.keep)

    try:
        capture = LiveCapture(args.interface, args.bpf)
    except LiveError as exc:
        raise _UsageError(str(exc)) from None
    _err(f"watching {args.interface} (link type {capture.linktype}); inventory to {out}")
    started = time.monotonic()
    live = watch(engine, capture, flush, every_s=args.every * 60, duration_s=args.duration)
    if not args.quiet:
        rows = config.allowed(engine.inventory.rows())
        _err(_summary(engine.stats, rows, time.monotonic() - started))
        _err(f"live: {live.packets} packets, {live.kernel_drops} dropped by the kernel, "
             f"{live.truncated} cut, {live.flushes} inventory writes")
    return EXIT_OK


def _check(args: argparse.Namespace) -> int:
    """`dpi check` (dpi/cli_check.py): the scan is `dpi scan`'s, with findings."""

    def scan(a: argparse.Namespace) -> tuple[int, list[Any], list[Any]]:
        if cli_batch.batch_requested(a):
            raise _UsageError("dpi check scans in one process: --state, --jobs and --dask are for dpi scan")
        collected: dict[str, Any] = {}
        status = _scan(a, collect=collected)
        return status, collected.get("rows", []), collected.get("findings", [])

    try:
        return cli_check.check(args, scan, _config(args).policy or None)
    except cli_check.CheckError as exc:
        raise _UsageError(str(exc)) from None


def _spec(args: argparse.Namespace) -> int:
    """`dpi spec` (dpi/apispec/command.py): the scan is `dpi scan`'s, with its observer."""

    def scan(a: argparse.Namespace, collected: dict[str, Any]) -> tuple[int, list[Any]]:
        if cli_batch.batch_requested(a):
            raise _UsageError("dpi spec scans in one process: --state, --jobs and --dask are for dpi scan")
        status = _scan(a, collect=collected)
        return status, collected.get("rows", [])

    try:
        return apispec_command.spec(args, scan, _load_schemas)
    except apispec_command.SpecError as exc:
        raise _UsageError(str(exc)) from None


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logsetup.configure(args.verbose, quiet=args.quiet)  # dpi's loggers only; values redacted
    try:
        if args.command == "scan":
            return _scan(args)
        if args.command == "watch":
            return _watch(args)
        if args.command == "diff":
            return cli_batch.diff(args)
        if args.command == "report":
            return _report(args)
        if args.command == "check":
            return _check(args)
        if args.command == "spec":
            return _spec(args)
    except (_UsageError, MissingExtra) as exc:
        _err(f"error: {exc}")
        return EXIT_USAGE
    except ModuleNotFoundError as exc:
        # An optional library found missing only at run time (dpi/extras.py names the
        # extra); any other missing module is a broken install, reported by name.
        _err(f"error: {hint_for(exc) or f'{exc.name} is not installed (a broken install?)'}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except OSError as exc:
        # File names are ours to show; the OS message never quotes file contents.
        _err(f"error: {exc.filename or ''}: {exc.strerror or type(exc).__name__}")
        return EXIT_USAGE
    except Exception as exc:  # a bug: one line, no traceback, no payload
        if getattr(args, "strict", False):
            raise
        _err(f"internal error ({type(exc).__name__}); rerun with --strict for details")
        return EXIT_USAGE
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
