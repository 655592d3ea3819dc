"""How amounts and text cells are written, the same way in every app."""

from __future__ import annotations

from decimal import Decimal

CENT = Decimal("0.01")
# Spreadsheet programs run a cell that starts with one of these as a formula (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def money(value: Decimal | None) -> Decimal:
    """SQLite sums decimals without their scale; every backend shows cents."""
    return Decimal(value or 0).quantize(CENT)


def csv_text(value: object) -> str:
    """A text cell a spreadsheet shows as text, never runs: a leading formula character gets a quote."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text
