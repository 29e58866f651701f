import datetime as dt
import json
from typing import Any

from django import template
from django.utils.html import format_html

from alerts import words

register = template.Library()


@register.filter
def as_json(value: Any) -> str:
    """Evidence as compact JSON (the C encoder: an inbox page shows 50 of them)."""
    return json.dumps(value, separators=(", ", ": "), ensure_ascii=False)


@register.filter
def neda_words(state: str) -> str:
    return words.neda(state)


@register.filter
def component_words(component: Any, name: str) -> str:
    """`window.mri|component_words:"mri"`: the state of one NEDA component (a component of
    `outcomes.documents.NedaWindowDocument`) in words."""
    return words.component(name, component.state if component is not None else "unknown")


@register.filter
def change_words(cdw_type: str | None) -> str:
    return words.CHANGES.get(cdw_type or "", "improvement (CDI)")


@register.filter
def alert_state_words(state: str) -> str:
    return words.ALERT_STATE.get(state, state)


@register.filter
def get_item(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key.lstrip("-"), key)


@register.simple_tag(takes_context=True)
def sort_link(context: dict[str, Any], key: str, label: str) -> str:
    """A column header that sorts by it; a second click reverses the order."""
    current = context["sort"]
    target = f"-{key}" if current == key else key
    arrow = " ▲" if current == key else " ▼" if current == f"-{key}" else ""
    query = context["sort_query"]
    href = f"?{query}&sort={target}" if query else f"?sort={target}"
    state = "ascending" if current == key else "descending" if current == f"-{key}" else None
    sorted_attr = format_html(' aria-current="true" data-sort="{}"', state) if state else ""
    return format_html('<a href="{}"{}>{}{}</a>', href, sorted_attr, label, arrow)


@register.filter
def evidence_records(evidence: dict[str, Any]) -> list[dict[str, str]]:
    return words.evidence_records(evidence or {})


@register.filter
def finding_date(evidence: dict[str, Any]) -> str | None:
    return words.finding_date(evidence or {})


@register.filter
def iso_date(value: str | None) -> dt.date | str | None:
    """An ISO date of the evidence as a date, for the `date` filter to write as every other
    date on the page; anything else as it is."""
    try:
        return dt.date.fromisoformat(value) if value else value
    except ValueError:
        return value
