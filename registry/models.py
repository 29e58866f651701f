"""The runs of imports and research exports: who asked, how far they got, what came out.

A run is the unit the pages poll for progress; the clinical rows it writes are audited one
by one (patients.actions), the run itself once (registry.audit)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from patients.models import Site


class RunState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    REFUSED = "refused", "Refused (nothing stored)"
    FAILED = "failed", "Failed"


class Run(models.Model):
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    state = models.CharField(max_length=8, choices=RunState.choices, default=RunState.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]

    @property
    def finished(self) -> bool:
        return self.state in (RunState.DONE, RunState.REFUSED, RunState.FAILED)

    @property
    def percent(self) -> int:
        return 100 if self.finished else int(100 * self.done / self.total) if self.total else 0


class ImportRun(Run):
    """One uploaded file, imported (or only checked: `dry_run`) by a Celery task."""

    kind = models.CharField(max_length=32)
    file_name = models.CharField(max_length=255)
    # The upload until the task has read it: the worker may run on another host.
    content = models.BinaryField(default=b"", editable=False)
    dry_run = models.BooleanField(default=True)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    errors = models.JSONField(
        default=list, blank=True, help_text="Each refused row: file, line, field, message"
    )

    def __str__(self) -> str:
        return f"import of {self.file_name} ({self.kind}) at {self.site_id}"


class ResearchExport(Run):
    """A pseudonymised research export of one site, written by a Celery task as a zip."""

    definitions = models.JSONField(help_text="The progression definitions computed")
    patients = models.PositiveIntegerField(default=0)
    file_name = models.CharField(max_length=255, blank=True)
    message = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"research export {self.pk} of {self.site_id}"
