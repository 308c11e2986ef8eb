"""Numbers and lists as the page writes them: a true minus sign, "—" for a number that does not exist."""

from __future__ import annotations

import math

MINUS = "−"
MISSING = "—"


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def _places(value: float, digits: int) -> int:
    """`digits` decimals, or as many as two significant digits of a tiny number need (0.000012, not 0.000)."""
    if value == 0 or abs(value) >= 0.5 * 10**-digits:
        return digits
    return -math.floor(math.log10(abs(value))) + 1


def num(value, digits: int = 4, sign: bool = False) -> str:
    """Whole numbers without decimals, others to `digits` decimals; None and NaN as "—"."""
    if _missing(value):
        return MISSING
    value = float(value)
    places = 0 if value.is_integer() else _places(value, digits)
    return f"{value:{'+' if sign else ''}.{places}f}".replace("-", MINUS)


def fixed(value, digits: int = 3, sign: bool = False) -> str:
    """`digits` decimals even when the number happens to be whole (a statistic, not a count)."""
    if _missing(value):
        return MISSING
    value = float(value)
    return f"{value:{'+' if sign else ''}.{_places(value, digits)}f}".replace("-", MINUS)


def signed(value, digits: int = 2) -> str:
    return fixed(value, digits, sign=True)


def pct(share, digits: int = 0, sign: bool = False) -> str:
    """A share as a percentage: 0.153 → "15%"."""
    if _missing(share):
        return MISSING
    return f"{100 * float(share):{'+' if sign else ''}.{digits}f}%".replace("-", MINUS)


def integer(value) -> str:
    """A count with thousands separators."""
    return MISSING if _missing(value) else f"{int(value):,}"


def prob(keep_prob) -> str:
    """A keep probability as the page labels it: 0.25, 0.5, 0.3."""
    return MISSING if _missing(keep_prob) else f"{float(keep_prob):g}"


def join(items) -> str:
    """"a", "a and b", "a, b and c"."""
    items = [str(i) for i in items]
    return ", ".join(items[:-1]) + " and " + items[-1] if len(items) > 1 else "".join(items)


def probs(keep_probs) -> str:
    return join(prob(p) for p in keep_probs)


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def number_word(n: int) -> str:
    """Two … Nine as a word at the start of a sentence, larger counts as digits."""
    words = {1: "One", 2: "Two", 3: "Three", 4: "Four", 5: "Five", 6: "Six", 7: "Seven", 8: "Eight", 9: "Nine"}
    return words.get(n, f"{n:,}")


def nodes(mask: int, hidden: int, on: bool = True) -> list[int]:
    """The nodes of a mask that are on (or off): bit i of the mask is node i."""
    return [i for i in range(hidden) if bool((int(mask) >> i) & 1) == on]


def span(low, high, digits: int = 3) -> str:
    """A range of two numbers: "0.970–0.999", or "from −0.73 to 0.87" (a dash after a minus reads as a
    subtraction), or one number when both round alike."""
    a, b = fixed(low, digits), fixed(high, digits)
    if a == b:
        return a
    return f"from {a} to {b}" if a.startswith(MINUS) or b.startswith(MINUS) else f"{a}–{b}"
