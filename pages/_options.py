"""Choose an option of a combobox (``<select>``) by code, label or label prefix."""

from __future__ import annotations

from dataclasses import dataclass

from playwright.sync_api import Locator

from pages._parse import clean
from pages.errors import OptionUnavailable

_READ_OPTIONS = """
select => Array.from(select.options).map(o => [o.value, (o.label || o.textContent || '').trim()])
"""


@dataclass(frozen=True)
class Option:
    value: str
    label: str


def options(select: Locator) -> list[Option]:
    """The options of ``select`` (placeholder included)."""
    raw = select.evaluate(_READ_OPTIONS)
    return [Option(str(value), clean(str(label))) for value, label in raw]


def real_options(select: Locator) -> list[Option]:
    """The options that are a choice (not the empty placeholder « Sélectionnez … »)."""
    return [option for option in options(select) if option.value.strip()]


def find_option(choices: list[Option], wanted: str) -> Option | None:
    """The option matching ``wanted``: same value, same label, or label starting with it.

    « CODE - Nom » displayed elsewhere matches an option by its code too.
    """
    key = clean(wanted).casefold()
    if not key:
        return None
    candidates = [key]
    if " - " in key:
        candidates.append(key.split(" - ", 1)[0].strip())
    for candidate in candidates:
        for option in choices:
            if option.value.casefold() == candidate or option.label.casefold() == candidate:
                return option
        for option in choices:
            label = option.label.casefold()
            if label.startswith(candidate + " ") or label.startswith(candidate + "-"):
                return option
        for option in choices:
            if option.value and option.label.casefold().startswith(candidate):
                return option
    return None


def choose(select: Locator, wanted: str, field: str, *, placeholder_ok: bool = False) -> Option:
    """Select the option matching ``wanted`` in ``select``; OptionUnavailable if none does.

    ``placeholder_ok``: the option with an empty value (« Tous ») may be chosen too.
    """
    option = find_option(options(select) if placeholder_ok else real_options(select), wanted)
    if option is None:
        raise OptionUnavailable((f"« {wanted} » ne figure pas dans la liste « {field} ».",))
    select.select_option(value=option.value)
    return option
