"""OpenAPI description of the token scheme (imported by ApiConfig.ready), the error answers
of every operation, and a schema hook."""

import re
from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import Direction


class TokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.auth.TokenAuthentication"
    name = "integrationToken"

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <token>` from `manage.py create_integration`",
        }


def query_strings_without_nul(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Free-text query parameters cannot hold a NUL character (DRF refuses it with a 400):
    say so, so that a schema-valid query is one the server accepts."""
    for item in result["paths"].values():
        for operation in item.values():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
                schema = parameter.get("schema", {})
                if (
                    parameter["in"] == "query"
                    and schema.get("type") == "string"
                    and not ({"enum", "format", "pattern"} & schema.keys())
                ):
                    schema["pattern"] = "^[^\\x00]*$"
    return result


def fhir_operation_paths(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Put back the `$` of FHIR operations (`Patient/{id}/$everything`, `$export`), which
    drf-spectacular drops from a path as if it were a regular expression's end."""
    result["paths"] = {
        re.sub(r"/(everything|export)$", r"/$\1", path) if path.startswith("/fhir/") else path: item
        for path, item in result["paths"].items()
    }
    return result


ERROR = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
# DRF's 400: field name → messages; a body that is not JSON at all gets `detail` instead.
VALIDATION_ERRORS = {
    "type": "object",
    "description": "Messages by field name (`non_field_errors` for the record as a whole); "
    "`detail` when the body could not be read at all",
    "properties": {"detail": {"type": "string"}},
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
}
ERROR_DESCRIPTIONS = {
    400: "Refused input, each message under the field or query parameter it concerns",
    401: "No or an invalid, expired or revoked token, and no session",
    403: "Signed in, but the role may not do this (or a session without its CSRF token)",
    404: "No such record at your sites, or a page past the last",
    409: "The source identifiers name a record marked entered in error, or a concurrent write",
    412: "If-Match does not match the record's ETag",
    413: "The body is larger than the server accepts",
    415: "The body is not JSON",
    429: "Too many requests; wait as long as Retry-After says",
}
IF_MATCH_ACTIONS = {"update", "partial_update", "entered_in_error"}


class ApiSchema(AutoSchema):
    """Every error answer an `/api/` operation can give, with its body, beside the ones
    declared with `@extend_schema` (FHIR operations declare their own OperationOutcomes)."""

    def _get_format_parameters(self) -> list[dict[str, Any]]:
        """DRF's `?format=` picks a renderer (FHIR views have two, both JSON); an empty one is
        ignored, which a schema enum cannot say: clients choose with Accept instead."""
        return []

    def _get_response_bodies(self, direction: Direction = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        if not self.path.startswith("/api/"):
            return responses
        for code in self.error_codes():
            body = self.validation_errors() if code == 400 else self.error()
            # A view's own description of an error is kept; the body is the same for all.
            response = responses.setdefault(str(code), {"description": ERROR_DESCRIPTIONS[code]})
            response.setdefault("content", {"application/json": {"schema": body}})
        return dict(sorted(responses.items()))

    def error_codes(self) -> set[int]:
        # Every operation: filters, ordering and paging are read by object lookups too.
        codes = {400, 401, 403, 429}
        action = getattr(self.view, "action", None)
        if self.method in ("POST", "PUT", "PATCH"):
            codes |= {413, 415}
        if not self._is_create_operation() and action != "bulk":
            codes.add(404)
        if self._is_create_operation():
            codes.add(409)
        if action in IF_MATCH_ACTIONS:
            codes.add(412)
        return codes

    def error(self) -> dict[str, str]:
        return self._component("Error", ERROR)

    def validation_errors(self) -> dict[str, str]:
        return self._component("ValidationErrors", VALIDATION_ERRORS)

    def _component(self, name: str, schema: dict[str, Any]) -> dict[str, str]:
        component = ResolvedComponent(
            name=name, type=ResolvedComponent.SCHEMA, schema=schema, object=name
        )
        self.registry.register_on_missing(component)
        return component.ref
