"""What `--strict` fails on: anything the scan skipped, and the one line that says what.

A scan that skipped data still exits 0 (its warnings say what and where); with
`--strict` it exits 1 when anything at all was skipped: a warning, an undecodable frame,
a TCP gap, a flow stopped on a protocol error or an internal error, a protocol anomaly
(a bad chunk, a resync, a frame that could not be parsed...), a bound hit (an oversized
body, a decompression bomb...) or a field dropped because the field table was full.

Not failures: events that lose nothing. A request whose response is not in the capture
(`unanswered_request`), a connection upgraded to TLS (MySQL `tls`, HTTP CONNECT
`handoff_*`: the stream goes on in the TLS layer, whose undecrypted flows are counted
apart), and TLS or unknown-protocol flows, which are reported as such (`--tls-coverage`,
the summary) and are not data the dissectors dropped.

Every name printed is a counter name from the code (anomaly kinds, limit names), never
anything from a capture.
"""

from __future__ import annotations

from dpi.engine import ScanStats

# Anomaly kinds that record an event, not a loss (see the module docstring).
LOSSLESS_ANOMALIES = frozenset({"unanswered_request", "tls"})
LOSSLESS_PREFIXES = ("handoff_",)
# Counted by their own counters (gaps, protocol errors), not again as anomalies.
_COUNTED_APART = frozenset({"gap"})


def _counts(items: dict[str, int]) -> str:
    return ", ".join(f"{kind} {count}" for kind, count in sorted(items.items()))


def lossy_anomalies(stats: ScanStats) -> dict[str, int]:
    """Protocol anomalies that cost data (a bad chunk, JSON that did not parse, an
    incomplete message), without the events that lose nothing and without what other
    counters already count (gaps, protocol errors, limit hits)."""
    limits = {kind for kind, count in stats.limits_hit.items() if count}
    return {
        kind: count
        for kind, count in stats.anomalies.items()
        if count
        and kind not in LOSSLESS_ANOMALIES
        and kind not in _COUNTED_APART
        and kind not in limits
        and not kind.endswith("_protocol_error")  # = protocol_errors
        and not kind.startswith(LOSSLESS_PREFIXES)
    }


def summary_line(stats: ScanStats) -> str | None:
    """`anomalies: bad_chunk 1, json_syntax_error 2` for the end-of-scan summary."""
    anomalies = lossy_anomalies(stats)
    return f"anomalies: {_counts(anomalies)}" if anomalies else None


def lost_data(stats: ScanStats) -> list[str]:
    """What the scan's counters say was lost, one phrase each (the summary's `skipped:`
    line and the `--strict` verdict share them)."""
    phrases = []
    if stats.decode_errors:
        phrases.append(f"{stats.decode_errors} undecodable frames")
    if stats.gaps:
        phrases.append(f"{stats.gaps} gaps ({stats.gap_bytes} bytes lost)")
    if stats.protocol_errors:
        phrases.append(f"{stats.protocol_errors} flows stopped on protocol errors")
    if stats.bugs:
        phrases.append(f"{stats.bugs} flows dropped on internal errors")
    return phrases


def skipped(stats: ScanStats, *, warnings: int, dropped_fields: int = 0) -> list[str]:
    """What was skipped, one short phrase per kind; empty when nothing was."""
    reasons = [f"{warnings} warning(s)"] if warnings else []
    reasons += lost_data(stats)
    limits = {kind: count for kind, count in stats.limits_hit.items() if count}
    anomalies = lossy_anomalies(stats)
    if anomalies:
        reasons.append(f"protocol anomalies: {_counts(anomalies)}")
    if limits:
        reasons.append(f"limits hit: {_counts(limits)}")
    if dropped_fields:
        reasons.append(f"{dropped_fields} fields dropped (field table full)")
    return reasons


def strict_failure(stats: ScanStats, *, warnings: int, dropped_fields: int = 0) -> str | None:
    """The line `--strict` prints before exit status 1, or None when nothing was skipped."""
    reasons = skipped(stats, warnings=warnings, dropped_fields=dropped_fields)
    if not reasons:
        return None
    return f"strict: data was skipped ({'; '.join(reasons)}); exit status 1"
