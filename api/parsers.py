"""JSON bodies, refused with a 400 (never a 500) when no record could hold them."""

from __future__ import annotations

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

# Deeper than any record or FHIR Bundle we accept (a bundle's MRI component coding is about
# ten levels down); every step below (serializers, fhir.resources) recurses per level.
MAX_DEPTH = 64


def _refusal(data: Any) -> str | None:
    """Why the parsed body cannot be taken, walked without recursion: too deep, or a NUL
    character (PostgreSQL text cannot hold one)."""
    pending: list[tuple[str, Any, int]] = [("", data, 0)]
    while pending:
        path, value, depth = pending.pop()
        if depth > MAX_DEPTH:
            return f"the JSON is nested more than {MAX_DEPTH} levels deep"
        if isinstance(value, str) and "\x00" in value:
            return f"{path or 'the body'}: NUL characters (\\u0000) are not accepted"
        if isinstance(value, dict):
            for key, item in value.items():
                if "\x00" in key:
                    return f"{path or 'the body'}: NUL characters (\\u0000) are not accepted"
                pending.append((f"{path}.{key}" if path else key, item, depth + 1))
        elif isinstance(value, list):
            pending.extend((f"{path}[{i}]", item, depth + 1) for i, item in enumerate(value))
    return None


class JSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"the JSON is nested more than {MAX_DEPTH} levels deep") from None
        refusal = _refusal(data)
        if refusal:
            raise ParseError(refusal)
        return data
