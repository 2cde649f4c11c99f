"""Protocol dissectors: one module per protocol, each a `protocols.base.Dissector`."""
