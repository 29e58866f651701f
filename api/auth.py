"""Who is calling: integration tokens for systems, sessions for people, and the sign-in
lockout that slows password guessing."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from api.models import TOKEN_PREFIX_LENGTH, IntegrationToken, LoginFailure
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


class LockoutModelBackend(ModelBackend):
    """Django's password check, refused for a while after LOGIN_LOCKOUT_FAILURES failures
    in a row, however good the next password is; a success clears the count."""

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if username is None:
            username = kwargs.get("username")
        if username is None or len(username) > LoginFailure._meta.get_field("username").max_length:
            # No account has a longer name (the sign-in forms do not check the length);
            # looking it up or counting its failures would overflow the column.
            return None
        if is_locked_out(username):
            raise PermissionDenied("too many failed sign-ins; try again later")
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            record_failure(username)
        else:
            LoginFailure.objects.filter(username=username).delete()
        return user


def is_locked_out(username: str) -> bool:
    failure = LoginFailure.objects.filter(username=username).first()
    return (
        failure is not None
        and failure.failures >= settings.LOGIN_LOCKOUT_FAILURES
        and timezone.now() - failure.last_failure_at < settings.LOGIN_LOCKOUT_PERIOD
    )


def record_failure(username: str) -> None:
    now = timezone.now()
    failure, created = LoginFailure.objects.get_or_create(
        username=username, defaults={"failures": 1, "last_failure_at": now}
    )
    if created:
        return
    if now - failure.last_failure_at >= settings.LOGIN_LOCKOUT_PERIOD:
        # The earlier run of failures has expired: this one starts a new count.
        LoginFailure.objects.filter(pk=failure.pk).update(failures=1, last_failure_at=now)
    else:
        LoginFailure.objects.filter(pk=failure.pk).update(
            failures=F("failures") + 1, last_failure_at=now
        )
