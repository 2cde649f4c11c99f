"""PHI classifiers: one module per data type."""
