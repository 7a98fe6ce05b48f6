"""Multi-touch attribution, without I/O: a won amount spread over a lead's campaign touches (oldest first).

- first touch: all of it to the first; last touch: all of it to the last;
- U-shaped: 40% to the first, 40% to the last, 20% shared equally by the touches between; with one touch it
  takes everything, with two they take half each (no middle to give the 20% to).

Shares are in cents; what rounding leaves over goes to the touch with the largest weight (the first such), so the
shares always add up to the amount.
A campaign touched twice collects both shares.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_DOWN, Decimal

FIRST_TOUCH, LAST_TOUCH, U_SHAPED = "first_touch", "last_touch", "u_shaped"
MODELS = (FIRST_TOUCH, LAST_TOUCH, U_SHAPED)
CENT = Decimal("0.01")


def weights(touches: int, model: str) -> list[Decimal]:
    if touches == 0:
        return []
    if model == FIRST_TOUCH:
        return [Decimal(1)] + [Decimal(0)] * (touches - 1)
    if model == LAST_TOUCH:
        return [Decimal(0)] * (touches - 1) + [Decimal(1)]
    if touches == 1:
        return [Decimal(1)]
    if touches == 2:
        return [Decimal("0.5"), Decimal("0.5")]
    middle = Decimal("0.2") / (touches - 2)
    return [Decimal("0.4"), *([middle] * (touches - 2)), Decimal("0.4")]


def spread(amount: Decimal, touches: Sequence[str], model: str) -> dict[str, Decimal]:
    """campaign -> share of ``amount``; empty without touches."""
    if model not in MODELS:
        raise ValueError(f"unknown attribution model {model!r}")
    out: dict[str, Decimal] = {}
    given = weights(len(touches), model)
    for campaign, weight in zip(touches, given, strict=True):
        if weight:
            out[campaign] = out.get(campaign, Decimal(0)) + (amount * weight).quantize(CENT, rounding=ROUND_DOWN)
    left = amount - sum(out.values(), Decimal(0))
    if touches and left:
        heaviest = touches[given.index(max(given))]
        out[heaviest] += left
    return out
