"""Typed classifiers: one module per taxonomy data type, under pii/, phi/, pci/, secret/."""
