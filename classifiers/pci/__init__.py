"""PCI classifiers: one module per data type."""
