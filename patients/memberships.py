"""Site administrators grant and revoke memberships of their own sites, audited."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from patients.actions import Actor, snapshot
from patients.models import AuditAction, AuditEvent, Membership, Role, Site
from patients.policy import Action, can


def _audit(membership: Membership, *, actor: Actor, action: str, before: object) -> None:
    AuditEvent.objects.create(
        at=timezone.now(),
        actor=actor.user,
        actor_label=actor.label,
        action=action,
        model=Membership._meta.label_lower,
        object_id=str(membership.pk),
        before=before,
        after=snapshot(membership) if action != AuditAction.DELETE else None,
    )


@transaction.atomic
def grant_membership(*, site: Site, username: str, role: str, actor: Actor) -> Membership:
    """Give a user a role at a site (or change it); only an admin of that site may."""
    if not can(actor.user, Action.ADMINISTER, site.pk):
        raise PermissionDenied("only an administrator of this site may change its members")
    if role not in Role.values:
        raise ValidationError({"role": f"unknown role {role!r}; known: {', '.join(Role.values)}"})
    user = get_user_model().objects.filter(username=username.strip()).first()
    if user is None:
        raise ValidationError({"username": f"no user named {username.strip()!r}"})
    membership = Membership.objects.filter(site=site, user=user).first()
    before = snapshot(membership) if membership else None
    if membership is None:
        membership = Membership(site=site, user=user, role=role)
    membership.role = role
    membership.save()
    _audit(
        membership,
        actor=actor,
        action=AuditAction.UPDATE if before else AuditAction.CREATE,
        before=before,
    )
    return membership


@transaction.atomic
def revoke_membership(membership: Membership, *, actor: Actor) -> None:
    """Remove a user from a site; an administrator may not remove themself (a site would
    otherwise lose its last administrator by a slip)."""
    if not can(actor.user, Action.ADMINISTER, membership.site_id):
        raise PermissionDenied("only an administrator of this site may change its members")
    if membership.user_id == getattr(actor.user, "pk", None):
        raise ValidationError({"membership": "you cannot remove your own membership"})
    before = snapshot(membership)
    _audit(membership, actor=actor, action=AuditAction.DELETE, before=before)
    membership.delete()
