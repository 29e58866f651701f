"""The Django admin is the system administrator's tool: superusers only.

A staff flag alone once opened it to site staff, and its generic pages (raw-id labels,
foreign-key choices, memberships, lockout rows) reach across sites; site administrators
manage their own site's memberships on `/site-admin/` instead, through the policy.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest


class SuperuserAdminSite(admin.AdminSite):
    site_header = "mstrack administration (system administrators)"

    def has_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)


class MstrackAdminConfig(AdminConfig):
    default_site = "mstrack.admin.SuperuserAdminSite"
