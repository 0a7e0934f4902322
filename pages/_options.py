"""The portal's lists: find one by its label, read its options, choose one.

The invoicing application shows its lists as Select2 widgets: the native ``<select>`` is
hidden (``aria-hidden``) and a ``combobox`` named by the same label stands in its place; a
click opens a drop-down, appended to the page's end, with a search box and a ``listbox`` of
``option`` items. The robot does what a person does: it clicks the combobox, narrows a long
list by typing the option's text in the search box, and clicks the option (SCREENS.md,
« Select2 drop-downs »). A plain ``<select>`` (a page without the widget) is chosen from
directly.

The options are read from the hidden ``<select>`` the widget stands for (it holds the values
the form sends): the combobox's label points to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from playwright.sync_api import Locator, Page

from pages._parse import clean
from pages.errors import OptionUnavailable

#: The ``<select>`` a control stands for: itself, the control its label points to, or (the
#: real Select2's naming) the element whose id its rendered text's id carries.
NATIVE = r"""
el => {
  if (el.tagName === 'SELECT') return el;
  for (const id of (el.getAttribute('aria-labelledby') || '').split(/\s+/)) {
    const named = id && document.getElementById(id);
    if (!named) continue;
    if (named.control && named.control.tagName === 'SELECT') return named.control;
    const match = /^select2-(.+)-container$/.exec(id);
    const select = match && document.getElementById(match[1]);
    if (select && select.tagName === 'SELECT') return select;
  }
  return null;
}
"""

_READ_LIST = f"""
el => {{
  const select = ({NATIVE.strip()})(el);
  if (!select) return null;
  return {{
    widget: select !== el,
    value: select.value,
    options: Array.from(select.options)
      .map(o => [o.value, (o.label || o.textContent || '').trim()]),
  }};
}}
"""

#: Elements an assistive technology does not see (the widget's hidden ``<select>``).
_SEEN = ":not([aria-hidden='true'])"


@dataclass(frozen=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True)
class ListState:
    """A list as the page holds it: whether it is a widget, its value, its options."""

    widget: bool
    value: str
    options: list[Option]


def labelled(scope: Page | Locator, label: str | re.Pattern[str]) -> Locator:
    """The control named ``label`` (whole text when a string) that a person sees: a field,
    or a list's combobox — never the hidden ``<select>`` a Select2 widget stands for."""
    return scope.get_by_label(label, exact=True).and_(scope.locator(_SEEN))


def read_list(box: Locator) -> ListState:
    """The list ``box`` (a combobox or a ``<select>``) in one round trip."""
    raw = box.evaluate(_READ_LIST)
    if raw is None:
        raise OptionUnavailable(("Liste déroulante sans liste du formulaire derrière elle.",))
    return ListState(
        widget=bool(raw["widget"]),
        value=str(raw["value"]),
        options=[Option(str(value), clean(str(label))) for value, label in raw["options"]],
    )


def options(box: Locator) -> list[Option]:
    """The options of the list ``box`` (placeholder included)."""
    return read_list(box).options


def real_options(box: Locator) -> list[Option]:
    """The options that are a choice (not the empty placeholder « Sélectionnez … »)."""
    return [option for option in options(box) if option.value.strip()]


def selected_value(box: Locator) -> str:
    """The value of the option the list ``box`` holds ("" for its placeholder)."""
    return read_list(box).value


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


def choose(box: Locator, wanted: str, field: str, *, placeholder_ok: bool = False) -> Option:
    """Choose the option matching ``wanted`` in the list ``box``; OptionUnavailable if none
    does. ``placeholder_ok``: the option with an empty value (« Tous ») may be chosen too."""
    state = read_list(box)
    choices = state.options if placeholder_ok else [o for o in state.options if o.value.strip()]
    option = find_option(choices, wanted)
    if option is None:
        raise OptionUnavailable((f"« {wanted} » ne figure pas dans la liste « {field} ».",))
    if option.value != state.value:
        pick(box, option, widget=state.widget, among=len(state.options))
    return option


def choose_value(box: Locator, value: str) -> None:
    """Choose the option whose value is ``value`` ("" : the placeholder), if not already."""
    state = read_list(box)
    if state.value == value:
        return
    option = next((o for o in state.options if o.value == value), None)
    if option is None:
        raise OptionUnavailable((f"La valeur « {value} » ne figure pas dans la liste.",))
    pick(box, option, widget=state.widget, among=len(state.options))


#: From this many options, a person narrows the list with its search box before clicking.
SEARCH_FROM = 12


def pick(
    box: Locator, option: Option, *, widget: bool | None = None, among: int = SEARCH_FROM
) -> None:
    """Make the list ``box`` hold ``option``, as a person does.

    A Select2 widget: click it, type the option's text in the drop-down's search box when
    the list is long (``among``: how many options it has), click the option. A plain
    ``<select>``: choose the option. ``widget`` None: asked of the page.
    """
    if widget is None:
        widget = bool(box.evaluate("el => el.tagName !== 'SELECT'"))
    if not widget:
        box.select_option(value=option.value)
        return
    page = box.page
    box.click()
    # Select2 appends the open drop-down to the page's end; one is open at a time.
    results = page.get_by_role("listbox").and_(page.locator(_SEEN))
    if option.label and among >= SEARCH_FROM:
        page.get_by_role("searchbox").fill(option.label)
    results.get_by_role("option", name=option.label, exact=True).first.click()
