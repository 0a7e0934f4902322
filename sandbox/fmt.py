"""French formatting of the values the sandbox shows (SCREENS.md, consultation page).

Money « 1 234,50 € » (U+202F narrow no-break space between thousands, decimal comma), dates
``JJ/MM/AAAA``, date-times ``JJ/MM/AAAA HH:MM`` in Europe/Paris, empty values « — ».
The space before « € » and « % » is a plain space, as SCREENS.md writes it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")
EMPTY = "—"
THOUSANDS = "\u202f"  # narrow no-break space
SPACE = " "  # before « € » and « % »: a plain space, as SCREENS.md writes it


def now_utc() -> datetime:
    """The current instant, timezone-aware (UTC)."""
    return datetime.now(UTC)


def paris_today(now: datetime | None = None) -> date:
    """Today's date in France (the portal's calendar), for ``now`` or the current instant."""
    return (now or now_utc()).astimezone(PARIS).date()


def number(value: Decimal, places: int | None = None) -> str:
    """A decimal number French style: « 1 234,5 »; ``places`` fixes the decimals."""
    if places is not None:
        value = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    elif value == value.to_integral_value():
        value = value.quantize(Decimal(1))
    else:
        value = value.normalize()
    sign = "-" if value < 0 else ""
    text = f"{abs(value):f}"
    whole, _, frac = text.partition(".")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    result = sign + THOUSANDS.join(groups)
    return f"{result},{frac}" if frac else result


def money(value: Decimal | None) -> str:
    """« 1 234,50 € » (always two decimals); « — » for None."""
    if value is None:
        return EMPTY
    return f"{number(value, 2)}{SPACE}€"


def rate(value: Decimal) -> str:
    """A VAT rate as the line combobox shows it: « 5,5 % », « 20 % »."""
    return f"{number(value)}{SPACE}%"


def date_fr(value: date | datetime | None) -> str:
    """``JJ/MM/AAAA``; an instant is first converted to Europe/Paris."""
    if value is None:
        return EMPTY
    if isinstance(value, datetime):
        value = _paris(value).date()
    return value.strftime("%d/%m/%Y")


def datetime_fr(value: datetime | None) -> str:
    """``JJ/MM/AAAA HH:MM`` in Europe/Paris."""
    if value is None:
        return EMPTY
    return _paris(value).strftime("%d/%m/%Y %H:%M")


def text(value: str | None) -> str:
    """The value, or « — » when it is empty."""
    return value if value else EMPTY


def yes_no(value: bool) -> str:
    return "Oui" if value else "Non"


def file_size(size: int) -> str:
    """« 512 octets », « 12,3 Ko », « 4,2 Mo » (1 Ko = 1024 octets)."""
    if size < 1024:
        return f"{size}{SPACE}octets"
    for unit, factor in (("Ko", 1024), ("Mo", 1024**2), ("Go", 1024**3)):
        if size < factor * 1024 or unit == "Go":
            return f"{number(Decimal(size) / factor, 1)}{SPACE}{unit}"
    raise AssertionError("unreachable")


def _paris(value: datetime) -> datetime:
    if value.tzinfo is None:  # stored instants are UTC; be lenient with naive ones
        value = value.replace(tzinfo=UTC)
    return value.astimezone(PARIS)
