"""Classifier tests: the shared asserts of `_support.py` report like inline ones."""

from __future__ import annotations

import pytest

pytest.register_assert_rewrite("tests.classifiers._support")
