"""Parse what the portal displays, French style, into Python values.

Money « 1 234,50 € » (thousands separated by U+202F, U+00A0 or a space, decimal comma),
rates « 5,5 % », dates « 26/11/2026 », date-times « 26/11/2026 14:05 » (Europe/Paris).
The portal shows « — » for an empty value: every parser returns ``None`` (or ``""``) for it.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")

#: What the portal shows for an empty value.
EMPTY_MARKS = frozenset({"", "—", "-", "–"})

_SPACES = re.compile(r"[\s\u00a0\u202f\u2009\u2007]+")
_DATE = re.compile(r"^(\d{2})/(\d{2})/(\d{4})$")
_DATETIME = re.compile(r"^(\d{2})/(\d{2})/(\d{4})(?:\s+|\s*à\s*)(\d{2})[:h](\d{2})(?::(\d{2}))?$")


class ParseError(ValueError):
    """A displayed value does not have the expected French format."""


def clean(text: str | None) -> str:
    """Collapse every kind of space to one ordinary space and strip; « — » becomes ``""``."""
    if text is None:
        return ""
    collapsed = _SPACES.sub(" ", text).strip()
    return "" if collapsed in EMPTY_MARKS else collapsed


def parse_decimal(text: str | None) -> Decimal | None:
    """« 1 234,50 € », « 5,5 % », « -12,00 » or « 2 » → Decimal; empty → None."""
    value = clean(text)
    if not value:
        return None
    value = value.replace("€", "").replace("%", "").replace("EUR", "")
    value = _SPACES.sub("", value).replace("\u2212", "-")
    if "," in value and "." in value:
        # « 1.234,50 » (dot as thousands separator) — tolerated, never produced by the portal
        value = value.replace(".", "")
    value = value.replace(",", ".")
    try:
        return Decimal(value)
    except InvalidOperation as exc:
        raise ParseError(f"Montant illisible : « {text} »") from exc


def parse_money(text: str | None) -> Decimal | None:
    """A French amount to a Decimal with two places; empty → None."""
    amount = parse_decimal(text)
    return None if amount is None else amount.quantize(Decimal("0.01"))


def parse_date(text: str | None) -> date | None:
    """« 26/11/2026 » → date; a date-time keeps only its date; empty → None."""
    value = clean(text)
    if not value:
        return None
    match = _DATE.match(value)
    if match:
        day, month, year = (int(part) for part in match.groups())
        return _build_date(year, month, day, text)
    moment = parse_datetime(value)
    return None if moment is None else moment.date()


def parse_datetime(text: str | None) -> datetime | None:
    """« 26/11/2026 14:05 » → aware datetime in Europe/Paris; a bare date means midnight."""
    value = clean(text)
    if not value:
        return None
    match = _DATETIME.match(value)
    if match:
        day, month, year, hour, minute = (int(part) for part in match.groups()[:5])
        second = int(match.group(6) or 0)
        try:
            return datetime(year, month, day, hour, minute, second, tzinfo=PARIS)
        except ValueError as exc:
            raise ParseError(f"Date illisible : « {text} »") from exc
    match = _DATE.match(value)
    if match:
        day, month, year = (int(part) for part in match.groups())
        return datetime.combine(_build_date(year, month, day, text), datetime.min.time(), PARIS)
    raise ParseError(f"Date illisible : « {text} »")


def parse_yes_no(text: str | None) -> bool | None:
    """« Oui » → True, « Non » → False, empty → None."""
    value = clean(text).lower()
    if not value:
        return None
    if value == "oui":
        return True
    if value == "non":
        return False
    raise ParseError(f"Oui/Non attendu : « {text} »")


def format_decimal(value: Decimal) -> str:
    """A Decimal as the entry form accepts it: decimal comma, no thousands separator."""
    text = format(value.normalize(), "f") if value == value.to_integral() else format(value, "f")
    return text.replace(".", ",")


def format_date_iso(value: date) -> str:
    """A date as an ``<input type=date>`` takes it."""
    return value.isoformat()


def _build_date(year: int, month: int, day: int, original: str | None) -> date:
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise ParseError(f"Date illisible : « {original} »") from exc
