"""Site administrators' own page: the members of their sites, granted and revoked through
`patients.memberships` (audited), never through the Django admin (superusers only)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from patients.actions import Actor
from patients.memberships import grant_membership, revoke_membership
from patients.models import Membership, Role, Site
from patients.policy import Action, restrict, sites_where


class GrantForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Role.choices)

    def __init__(self, data: QueryDict | None, *, sites: QuerySet[Site]) -> None:
        super().__init__(data)
        self.fields["site"] = forms.ModelChoiceField(queryset=sites)
        self.order_fields(["site", "username", "role"])


def _administered(request: HttpRequest) -> QuerySet[Site]:
    """The sites the user administers; a 403 for anybody who administers none."""
    if sites_where(request.user, Action.ADMINISTER) == set():
        raise PermissionDenied("only a site administrator may manage members")
    sites = Site.objects.order_by("code")
    return restrict(sites, request.user, Action.ADMINISTER, site_lookup="pk")


@login_required
def members(request: HttpRequest) -> HttpResponse:
    sites = _administered(request)
    form = GrantForm(request.POST if request.method == "POST" else None, sites=sites)
    if request.method == "POST" and form.is_valid():
        try:
            grant_membership(
                site=form.cleaned_data["site"],
                username=form.cleaned_data["username"],
                role=form.cleaned_data["role"],
                actor=Actor.of(request.user),
            )
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, f"{form.cleaned_data['username']} is now a member.")
            return redirect("site-members")
    listed = (
        Membership.objects.filter(site__in=sites)
        .select_related("user", "site")
        .order_by("site__code", "user__username")
    )
    return render(request, "clinic/site_members.html", {"form": form, "memberships": listed})


@login_required
@require_POST
def revoke(request: HttpRequest, membership_id: int) -> HttpResponse:
    sites = _administered(request)
    membership = get_object_or_404(Membership, pk=membership_id, site__in=sites)
    try:
        revoke_membership(membership, actor=Actor.of(request.user))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{membership.user} removed from {membership.site.code}.")
    return redirect("site-members")
