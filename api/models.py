"""Integration tokens, failed sign-ins and FHIR bulk exports: the API's own state.

A token is shown once and stored only as a SHA-256 digest; the first characters (the
prefix) are kept in clear so that a request finds its row with one indexed lookup.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from patients.models import Site

TOKEN_PREFIX_LENGTH = 8


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class IntegrationToken(models.Model):
    """An EHR or lab system's key to the API of one site."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="integration_tokens")
    name = models.SlugField(max_length=64, unique=True, help_text="Shown in the audit trail")
    prefix = models.CharField(max_length=TOKEN_PREFIX_LENGTH, unique=True, editable=False)
    key_hash = models.CharField("SHA-256 of the token", max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["site", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.site})"

    @classmethod
    def issue(cls, *, site: Site, name: str, days: int | None) -> tuple[IntegrationToken, str]:
        """Create a token; the clear text is returned here and never again."""
        prefix = secrets.token_hex(TOKEN_PREFIX_LENGTH // 2)
        token = f"{prefix}.{secrets.token_urlsafe(32)}"
        expires_at = timezone.now() + dt.timedelta(days=days) if days else None
        row = cls.objects.create(
            site=site, name=name, prefix=prefix, key_hash=digest(token), expires_at=expires_at
        )
        return row, token

    def matches(self, token: str) -> bool:
        return hmac.compare_digest(self.key_hash, digest(token))

    def is_usable(self, now: dt.datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)


class BulkExportStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class BulkExport(models.Model):
    """One FHIR `$export` request (HL7 Bulk Data Access): who asked, for what, and the NDJSON
    files a worker wrote for it under FHIR_EXPORT_DIR/<public_id>/. Only the caller who
    asked may poll it and fetch its files."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    requested_at = models.DateTimeField(default=timezone.now, help_text="transactionTime")
    request_url = models.TextField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    token = models.ForeignKey(
        IntegrationToken, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    actor_label = models.CharField(max_length=200, help_text="As the audit trail names them")
    site_ids = models.JSONField(
        null=True, blank=True, help_text="The sites the caller saw when asking; null: all"
    )
    group = models.ForeignKey(
        Site,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="Group/<site code>/$export: this site only",
    )
    types = models.JSONField(help_text="Resource types asked for (_type)")
    since = models.DateTimeField(null=True, blank=True, help_text="_since")
    status = models.CharField(
        max_length=16, choices=BulkExportStatus.choices, default=BulkExportStatus.QUEUED
    )
    progress = models.CharField(max_length=200, blank=True)
    output = models.JSONField(default=list, blank=True, help_text="[{type, count}] when done")
    error = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        return f"$export {self.public_id} ({self.status})"
