import json
from typing import Any

from django import template

register = template.Library()


@register.filter
def as_json(value: Any) -> str:
    """Evidence as compact JSON (the C encoder: an inbox page shows 50 of them)."""
    return json.dumps(value, separators=(", ", ": "), ensure_ascii=False)
