import json
from typing import Any

from django import template

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
def component_words(component: dict[str, Any] | None, name: str) -> str:
    """`window.mri|component_words:"mri"`: the state of one NEDA component in words."""
    return words.component(name, (component or {}).get("state", "unknown"))


@register.filter
def change_words(cdw_type: str | None) -> str:
    return words.CHANGES.get(cdw_type or "", "improvement (CDI)")


@register.filter
def alert_state_words(state: str) -> str:
    return words.ALERT_STATE.get(state, state)
