"""How a scan is run around the pipeline: inputs and capture sets, one process or many
(workers, flow shards, Dask), scheduled scans with their state and history, live capture,
and what `--strict` and `-v` say about a run."""
