"""Shannon entropy of a string, in bits per character (C. E. Shannon, 1948).

Used by the generic API key and session token checks: a value drawn at random from a
base64 or hex alphabet has high entropy per character, while words, ids made of repeated
characters and placeholders (`changeme`, `xxxxxxxx`) have low entropy.

Reference points for the thresholds used by callers (measured on random values):
- 32 random hex characters: about 3.6-3.9 bits/char (the alphabet caps it at 4);
- 24+ random base64 characters: about 4.2-4.6 bits/char;
- lower-case English words with separators: about 3.0-3.4 bits/char;
- repeated or sequential placeholders: under 2.5 bits/char.
"""

from __future__ import annotations

import math
from collections import Counter

# Entropy is only computed on values up to this length: the per-character estimate has
# settled long before, and longer values would cost time for no change in the verdict.
MAX_ENTROPY_INPUT = 512


def shannon_entropy(value: str) -> float:
    value = value[:MAX_ENTROPY_INPUT]
    n = len(value)
    if n == 0:
        return 0.0
    return -sum((c / n) * math.log2(c / n) for c in Counter(value).values())


def looks_random(value: str, threshold: float) -> bool:
    """High entropy and not a single-case run of letters (a word is not a key)."""
    # The case test only when there is no digit: it reads the whole of a lower-case
    # token.
    if not any(ch.isdigit() for ch in value) and not (
            any(ch.isupper() for ch in value) and any(ch.islower() for ch in value)):
        return False
    return shannon_entropy(value) >= threshold
