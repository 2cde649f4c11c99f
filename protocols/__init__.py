"""Protocol dissectors: one folder per protocol (`protocols/<name>/`, its
`protocols.base.Dissector` in `<name>.py`, private helpers beside it), found by
`dpi/registry.py`; the payload decoding and helpers several protocols share stay at
this level (docs/architecture.md, "Adding a unit")."""
