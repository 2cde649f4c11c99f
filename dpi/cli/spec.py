"""`dpi spec`: scan captures like `dpi scan`, then write the OpenAPI document of the HTTP
and gRPC operations seen (`--openapi`) and the AsyncAPI document of the Kafka topics
seen (`--asyncapi`). YAML, or JSON when the file name ends in `.json`.

The scan is `dpi scan`'s (dpi/cli/scan.py runs it with the shape observer of
`dpi/outputs/apispec/` and hands back the inventory rows, which annotate the documents).
Exit status as `dpi scan`: 0 done (warnings say what was skipped), 2 bad usage or
nothing readable.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dpi.inventory import Row

from dpi.cli.batch import batch_requested
from dpi.cli.common import EXIT_USAGE, UsageError, err, load_schemas
from dpi.cli.scan import run as run_scan


class SpecError(Exception):
    """Bad usage of `dpi spec` (one line on stderr, exit 2)."""


def add_spec_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `spec` beyond those it shares with `scan`."""
    parser.add_argument("--openapi", metavar="FILE", help="write an OpenAPI 3.1 document of the HTTP and gRPC operations seen (YAML; JSON for *.json)")
    parser.add_argument("--asyncapi", metavar="FILE", help="write an AsyncAPI 3.0 document of the Kafka topics seen (YAML; JSON for *.json)")


def run(args: argparse.Namespace) -> int:
    """`dpi spec`: the scan is `dpi scan`'s (dpi/cli/scan.py), with this module's observer."""

    def scan(a: argparse.Namespace, collected: dict[str, Any]) -> tuple[int, list[Any]]:
        if batch_requested(a):
            raise UsageError("dpi spec scans in one process: --state, --jobs and --dask are for dpi scan")
        status = run_scan(a, collect=collected)
        return status, collected.get("rows", [])

    try:
        return spec(args, scan, load_schemas)
    except SpecError as exc:
        raise UsageError(str(exc)) from None


def spec(
    args: argparse.Namespace,
    scan: Callable[[argparse.Namespace, dict[str, Any]], tuple[int, list[Row]]],
    load_schemas: Callable[[argparse.Namespace], Any],
) -> int:
    """`scan(args, collect)` runs `dpi scan` with `collect["observers"]` and
    `collect["schemas"]` and returns (status, rows); `load_schemas(args)` is the scan's
    protobuf registry loader (the observer decodes protobuf with the same registry)."""
    from dpi.outputs.apispec.annotations import Annotations
    from dpi.outputs.apispec.asyncapi import asyncapi_document
    from dpi.outputs.apispec.enums import EnumVetter
    from dpi.outputs.apispec.observer import SpecObserver
    from dpi.outputs.apispec.openapi import openapi_document

    if not args.openapi and not args.asyncapi:
        raise SpecError("give --openapi FILE, --asyncapi FILE or both")
    schemas = load_schemas(args)
    observer = SpecObserver(schemas, strict=args.strict)
    status, rows = scan(args, {"observers": [observer], "schemas": schemas})
    if status == EXIT_USAGE:
        return status
    annotations = Annotations(rows)
    vetter = EnumVetter()
    written = []
    if args.openapi:
        doc = openapi_document(observer, annotations, vetter)
        write_document(Path(args.openapi), doc)
        written.append(f"{args.openapi} ({len(observer.operations)} operations)")
    if args.asyncapi:
        doc = asyncapi_document(observer, annotations, vetter)
        write_document(Path(args.asyncapi), doc)
        written.append(f"{args.asyncapi} ({len(observer.channels)} topics)")
    if observer.budget.exhausted:
        err("warning: spec: the shape budget ran out; later fields are not described")
    skipped = ", ".join(f"{n} {kind}" for kind, n in sorted(observer.skipped.items()))
    if observer.skipped["internal_error"]:
        err(f"warning: spec: {observer.skipped['internal_error']} messages not described (internal error)")
    if not args.quiet:
        err("spec: " + "; ".join(written) + (f"; not described: {skipped}" if skipped else ""))
    return status


def write_document(path: Path, doc: dict[str, Any]) -> None:
    if path.suffix.lower() == ".json":
        text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    else:
        try:
            import yaml  # type: ignore[import-untyped,unused-ignore]
        except ModuleNotFoundError:
            raise SpecError(f"{path}: YAML needs PyYAML (pip install pyyaml); or name a .json file") from None
        text = yaml.dump(doc, Dumper=_plain_dumper(yaml), sort_keys=False, allow_unicode=True, width=100)
    path.write_text(text, encoding="utf-8")


def _plain_dumper(yaml: Any) -> Any:
    """A safe YAML dumper without anchors and aliases: an object written twice is
    written out twice (readers and validators of API documents expect no aliases)."""

    class PlainDumper(yaml.SafeDumper):  # type: ignore[misc]
        def ignore_aliases(self, data: Any) -> bool:
            return True

    return PlainDumper
