"""Integration tokens and failed sign-ins: the API's own state.

A token is shown once and stored only as a SHA-256 digest; the first characters (the
prefix) are kept in clear so that a request finds its row with one indexed lookup.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

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
