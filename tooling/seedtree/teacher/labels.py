"""Label scoring from a first token's most likely alternatives (servers' ``top_logprobs``)."""

from __future__ import annotations

import math
from collections.abc import Sequence


def label_logprobs(top: Sequence[tuple[str, float]], labels: Sequence[str]) -> dict[str, float]:
    """Each label's log-probability from the first token's alternatives.

    A token counts for the label it spells (case and surrounding spaces ignored) or, failing
    that, for every label it begins (``"Y"`` for ``"YES"``); labels no token matches get ``-inf``.
    """
    out = {label: -math.inf for label in labels}
    for token, logprob in top:
        text = token.strip().lower()
        if not text:
            continue
        exact = [label for label in labels if label.strip().lower() == text]
        hits = exact or [label for label in labels if label.strip().lower().startswith(text)]
        for label in hits:
            out[label] = _logaddexp(out[label], logprob)
    return out


def _logaddexp(a: float, b: float) -> float:
    high, low = max(a, b), min(a, b)
    if low == -math.inf:
        return high
    return high + math.log1p(math.exp(low - high))
