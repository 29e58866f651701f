"""OpenAPI description of the token scheme (imported by ApiConfig.ready), and a schema hook."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


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


def fhir_operation_paths(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Put back the `$` of FHIR operations (`Patient/{id}/$everything`), which
    drf-spectacular drops from a path as if it were a regular expression's end."""
    result["paths"] = {
        path.replace("/everything", "/$everything") if path.startswith("/fhir/") else path: item
        for path, item in result["paths"].items()
    }
    return result
