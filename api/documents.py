"""The status's typed documents in the API: one serializer field, and their OpenAPI schema
generated from `outcomes.documents`, so that the contract says what is stored."""

from __future__ import annotations

from typing import Any

import msgspec
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers

from outcomes.documents import schema_components


class DocumentField(serializers.Field):
    """A stored document (or a list of them), read-only, named by its schema component."""

    def __init__(self, component: str, *, many: bool = False, **kwargs: Any) -> None:
        self.component, self.many = component, many
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> Any:
        return msgspec.to_builtins(value)


class DocumentFieldSchema(OpenApiSerializerFieldExtension):
    target_class = DocumentField

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        field: DocumentField = self.target
        ref: dict[str, Any] = {"$ref": f"#/components/schemas/{field.component}"}
        if field.many:
            return {"type": "array", "items": ref}
        return {"allOf": [ref], "nullable": True} if field.allow_null else ref


def document_components(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Add the document types to the schema's components, in OpenAPI 3.0's terms."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in schema_components().items():
        schemas[name] = _openapi30(schema)
    return result


def _openapi30(node: Any) -> Any:
    """JSON Schema's `anyOf: [X, {type: null}]` as OpenAPI 3.0's nullable X."""
    if isinstance(node, list):
        return [_openapi30(n) for n in node]
    if not isinstance(node, dict):
        return node
    node = {k: _openapi30(v) for k, v in node.items()}
    options = node.get("anyOf")
    if options and {"type": "null"} in options:
        rest = [o for o in options if o != {"type": "null"}]
        node.pop("anyOf")
        inner = rest[0] if len(rest) == 1 else {"anyOf": rest}
        if "$ref" in inner:
            inner = {"allOf": [inner]}
        node = {**node, **inner, "nullable": True}
    return node
