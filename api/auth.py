"""Who is calling: integration tokens for systems, sessions for people, and the sign-in
lockout (django-axes) that slows password guessing."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest
from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from api.models import TOKEN_PREFIX_LENGTH, IntegrationToken
from patients.actions import Actor

# last_used_at is for people auditing tokens, not for accounting: one write a minute is enough.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


@dataclass(frozen=True, eq=False)
class IntegrationUser:
    """`request.user` for a token: authenticated, no account, sees the token's site only
    (`SiteScopedQuerySet.visible_to` reads `integration_site_id`)."""

    token: IntegrationToken

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_superuser = False
    is_staff = False
    pk = None

    @property
    def integration_site_id(self) -> int:
        return self.token.site_id

    def get_username(self) -> str:
        return f"token:{self.token.name}"


class TokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Token <token>` with a token from `manage.py create_integration`."""

    keyword = "Token"

    def authenticate(self, request: Request) -> tuple[IntegrationUser, IntegrationToken] | None:
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("expected 'Authorization: Token <token>'")
        try:
            token = parts[1].decode()
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("invalid token") from None
        row = (
            IntegrationToken.objects.select_related("site")
            .filter(prefix=token[:TOKEN_PREFIX_LENGTH])
            .first()
        )
        now = timezone.now()
        if row is None or not row.matches(token) or not row.is_usable(now):
            raise exceptions.AuthenticationFailed("invalid, expired or revoked token")
        if row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION:
            IntegrationToken.objects.filter(pk=row.pk).update(last_used_at=now)
        return IntegrationUser(row), row

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


def actor_of(request: Request) -> Actor:
    """The audit trail's name for the caller: the user, or `token:NAME`."""
    if isinstance(request.user, IntegrationUser):
        return Actor.integration(request.user.token.name)
    return Actor.of(request.user)


class SignInHandler(AxesDatabaseHandler):
    """django-axes' lockout of a user name at one address (AXES_FAILURE_LIMIT failures
    within AXES_COOLOFF_TIME), so that nobody elsewhere can lock a neurologist out; and of an
    address after LOGIN_ADDRESS_FAILURES failures over any names in the same time (a
    password spray tries many names, few times each)."""

    def is_locked(self, request: HttpRequest, credentials: dict | None = None) -> bool:
        return super().is_locked(request, credentials) or _address_locked(request)

    # The requests below are HttpRequests carrying the axes_* attributes axes sets on them.
    def user_login_failed(
        self, sender: object, credentials: dict, request: Any = None, **kwargs: object
    ) -> None:
        super().user_login_failed(sender, credentials, request, **kwargs)
        # axes answers 429 (AxesMiddleware) only for a request it marked locked out.
        if request is not None and _address_locked(request):
            request.axes_locked_out = True


def _address_locked(request: Any) -> bool:
    return address_failures(request) >= settings.LOGIN_ADDRESS_FAILURES


def address_failures(request: Any) -> int:
    """Failed sign-ins from the request's address within the cool-off, whatever the name."""
    return (
        AccessAttempt.objects.filter(
            ip_address=request.axes_ip_address,
            attempt_time__gte=get_cool_off_threshold(request),
        ).aggregate(failures=Sum("failures_since_start"))["failures"]
        or 0
    )
