"""SECRET classifiers: one module per data type."""
