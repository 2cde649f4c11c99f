"""PII classifiers: one module per data type."""
