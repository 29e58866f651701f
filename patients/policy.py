"""Who may do what: one authorization policy for pages, API, FHIR and admin.

Every decision is `can(user, action, obj)` or, for lists, `restrict(queryset, user, action)`
(as NetBox restricts its querysets); the roles behind each action are in `ROLES`, the one
table of them. A user acts at a site through a membership's role; an integration token
(`api.auth.IntegrationUser`, recognised by its `integration_site_id`) acts at its one site
as `INTEGRATION`; a superuser may do everything everywhere.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, TypeVar

from django.db.models import QuerySet

from patients.models import Membership, Role

INTEGRATION = "integration"


class Action(StrEnum):
    VIEW = "view"  # read a patient's records, status and alerts
    ENTER = "enter"  # enter and correct records (forms, API, FHIR, imports)
    DECIDE = "decide"  # acknowledge and resolve alerts: a clinical decision
    CHOOSE_DEFINITION = "choose_definition"  # see a patient under another definition
    ADMINISTER = "administer"  # the site's memberships and settings


ROLES: dict[Action, frozenset[str]] = {
    Action.VIEW: frozenset({Role.NURSE, Role.NEUROLOGIST, Role.ADMIN, INTEGRATION}),
    Action.ENTER: frozenset({Role.NURSE, Role.NEUROLOGIST, Role.ADMIN, INTEGRATION}),
    # Nurses enter data; taking charge of an alert and closing it are the neurologist's.
    Action.DECIDE: frozenset({Role.NEUROLOGIST, Role.ADMIN}),
    # Integrations ask on behalf of their site's clinicians.
    Action.CHOOSE_DEFINITION: frozenset({Role.NEUROLOGIST, Role.ADMIN, INTEGRATION}),
    Action.ADMINISTER: frozenset({Role.ADMIN}),
}

Q = TypeVar("Q", bound=QuerySet[Any])


def sites_where(user: Any, action: Action) -> set[int] | None:
    """The ids of the sites where `user` may do `action`; None: every site (superuser)."""
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", True):
        return set()
    integration_site_id = getattr(user, "integration_site_id", None)
    if integration_site_id is not None:
        return {integration_site_id} if INTEGRATION in ROLES[action] else set()
    if user.is_superuser:
        return None
    return set(
        Membership.objects.filter(user=user, role__in=ROLES[action]).values_list(
            "site_id", flat=True
        )
    )


def site_of(obj: Any) -> int:
    """The site an object belongs to: a site id, a patient, or a record of a patient."""
    if isinstance(obj, int):
        return obj
    if hasattr(obj, "site_id"):
        site_id: int = obj.site_id
        return site_id
    return site_of(obj.patient)


def can(user: Any, action: Action, obj: Any) -> bool:
    """May `user` do `action` on `obj` (a site id, a patient or one of its records)?"""
    sites = sites_where(user, action)
    return sites is None or site_of(obj) in sites


def restrict(queryset: Q, user: Any, action: Action, *, site_lookup: str | None = None) -> Q:
    """The rows of `queryset` on which `user` may do `action`. `site_lookup` is the path to
    the site (default: the model's `site_lookup`, e.g. `patient__site`)."""
    lookup = site_lookup or getattr(queryset, "site_lookup", "patient__site")
    sites = sites_where(user, action)
    if sites is None:
        return queryset
    return queryset.filter(**{f"{lookup}__in": sites})
