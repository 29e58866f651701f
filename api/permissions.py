"""Roles. Which rows a caller sees is decided once, by `visible_to`; these checks only add
what a role may do with rows it can already see."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from alerts.actions import DECIDING_ROLES
from api.auth import IntegrationUser
from patients.models import Membership, Role

INTEGRATION = "integration"


def role_at(user: Any, site_id: int) -> str | None:
    """The caller's role at one site: a membership role, `integration` or None."""
    if isinstance(user, IntegrationUser):
        return INTEGRATION if user.integration_site_id == site_id else None
    if not getattr(user, "is_authenticated", False):
        return None
    if user.is_superuser:
        return Role.ADMIN
    return (
        Membership.objects.filter(user=user, site_id=site_id).values_list("role", flat=True).first()
    )


def has_role_anywhere(user: Any, roles: set[str]) -> bool:
    if isinstance(user, IntegrationUser):
        return INTEGRATION in roles
    if user.is_superuser:
        return True
    return Membership.objects.filter(user=user, role__in=roles).exists()


# Clinical judgement (taking charge of or closing an alert): the rule `alerts.actions`
# enforces too, so the API answers 403 before the action would refuse.
CLINICAL_DECISION_ROLES = set(DECIDING_ROLES)


class IsNeurologistOfSite(BasePermission):
    """Acknowledging or resolving an alert is a neurologist's (or site admin's) decision."""

    message = "only a neurologist of the patient's site may do this"

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        return role_at(request.user, obj.patient.site_id) in CLINICAL_DECISION_ROLES


class IsSiteAdmin(BasePermission):
    message = "only a site administrator may browse the audit trail"

    def has_permission(self, request: Request, view: Any) -> bool:
        return has_role_anywhere(request.user, {Role.ADMIN})
