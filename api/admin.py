from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from api.models import IntegrationToken
from patients.models import Site


@admin.action(description="Revoke the selected tokens")
def revoke(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
    modeladmin.message_user(request, f"{count} token(s) revoked.")


@admin.register(IntegrationToken)
class IntegrationTokenAdmin(admin.ModelAdmin):
    """Tokens are issued by `manage.py create_integration`, which shows the token once."""

    list_display = [
        "name",
        "site",
        "prefix",
        "created_at",
        "expires_at",
        "revoked_at",
        "last_used_at",
    ]
    list_filter = ["site"]
    readonly_fields = ["site", "name", "prefix", "created_at", "last_used_at", "revoked_at"]
    actions = [revoke]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).filter(site__in=Site.objects.visible_to(request.user))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
