"""Single sign-on with the hospital's OpenID Connect provider (mozilla-django-oidc).

The provider's groups claim decides the user's sites and roles: OIDC_GROUPS maps a group to
a site code and a role and the memberships are set from it at every sign-in, so a
person who leaves a hospital group loses the site at the next sign-in. An account made here
has no password: it signs in only through the provider, and a local account of the same
name is never taken over.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
)

from patients.models import Membership, Role, Site

log = logging.getLogger(__name__)

# Of two groups giving one site, the wider role wins (a membership has one role per site).
ROLE_ORDER: list[str] = [Role.NURSE, Role.NEUROLOGIST, Role.ADMIN]


def configured() -> bool:
    return bool(settings.OIDC_RP_CLIENT_ID)


def parse_group_memberships(text: str) -> dict[str, tuple[str, str]]:
    """`group=SITE:role;group=SITE:role` (the OIDC_GROUPS variable) as a mapping."""
    mapping = {}
    for item in filter(None, (part.strip() for part in text.split(";"))):
        group, _, target = item.rpartition("=")
        site, _, role = target.partition(":")
        if not group or not site or role not in Role.values:
            raise ValueError(f"OIDC_GROUPS: {item!r} is not group=SITE:role ({Role.values})")
        mapping[group.strip()] = (site.strip(), role)
    return mapping


def memberships_of(claims: dict[str, Any]) -> dict[str, str]:
    """Site code -> role, from the claims' groups."""
    groups = claims.get(settings.OIDC_GROUPS_CLAIM) or []
    mapping = parse_group_memberships(settings.OIDC_GROUPS)
    roles: dict[str, str] = {}
    for group in groups if isinstance(groups, list) else []:
        target = mapping.get(group)
        if target is None:
            continue
        site, role = target
        if site not in roles or ROLE_ORDER.index(role) > ROLE_ORDER.index(roles[site]):
            roles[site] = role
    return roles


class HospitalBackend(OIDCAuthenticationBackend):
    def verify_claims(self, claims: dict[str, Any]) -> bool:
        # No mapped group, no access: the provider knows people mstrack has no place for.
        return bool(claims.get("preferred_username")) and bool(memberships_of(claims))

    def filter_users_by_claims(self, claims: dict[str, Any]) -> QuerySet:
        users = self.UserModel.objects.filter(username=claims["preferred_username"])
        if any(user.has_usable_password() for user in users):
            raise SuspiciousOperation("a local account has this user name")
        return users

    def create_user(self, claims: dict[str, Any]) -> Any:
        user = self.UserModel.objects.create_user(
            claims["preferred_username"], email=claims.get("email", "")
        )
        return self.update_user(user, claims)

    @transaction.atomic
    def update_user(self, user: Any, claims: dict[str, Any]) -> Any:
        roles = memberships_of(claims)
        sites = {site.code: site for site in Site.objects.filter(code__in=roles)}
        for code in set(roles) - set(sites):
            log.warning("OIDC_GROUPS names site %s, which does not exist", code)
        Membership.objects.filter(user=user).exclude(site__code__in=sites).delete()
        for code, site in sites.items():
            Membership.objects.update_or_create(
                user=user, site=site, defaults={"role": roles[code]}
            )
        return user


def sign_in(request: HttpRequest) -> HttpResponse:
    if not configured():
        raise Http404("single sign-on is not configured")
    return OIDCAuthenticationRequestView.as_view()(request)


def callback(request: HttpRequest) -> HttpResponse:
    if not configured():
        raise Http404("single sign-on is not configured")
    return OIDCAuthenticationCallbackView.as_view()(request)
