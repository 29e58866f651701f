"""Rate limits: one bucket per integration token, one per signed-in user.

The counters live in Django's cache (local memory unless CACHES says otherwise), so with
several worker processes each keeps its own bucket.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle, UserRateThrottle

from api.auth import IntegrationUser

if TYPE_CHECKING:
    # Not at run time: DRF reads the throttles while rest_framework.views is being imported.
    from rest_framework.views import APIView


class IntegrationRateThrottle(SimpleRateThrottle):
    scope = "integration"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        if not isinstance(request.user, IntegrationUser):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.token.prefix}


class ClinicianRateThrottle(UserRateThrottle):
    """Signed-in people (and anonymous callers, by address); tokens have their own bucket."""

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        if isinstance(request.user, IntegrationUser):
            return None
        return super().get_cache_key(request, view)
