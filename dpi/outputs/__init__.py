"""What a scan writes: the contract's CSV and JSON (one writer, optional extra columns),
the other export formats, reading them back, diffs, the HTML report, compliance views,
CI reports and API documents (`apispec/`)."""
