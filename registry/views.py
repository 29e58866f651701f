"""Pages of the registry: imports and research exports for site admins, the audited
pseudonym lookup, and the consent form nurses fill in."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render

from patients.actions import Actor, save_record
from patients.models import AuditAction, Consent, Patient, Site
from patients.policy import Action, can, restrict
from registry import forms
from registry.audit import audit
from registry.export import find_patient, pseudonym_key
from registry.models import ImportRun, ResearchExport
from registry.tasks import run_export, run_import


def administered(request: HttpRequest) -> QuerySet[Site]:
    """The sites the user administers; none: 403."""
    sites = restrict(Site.objects.all(), request.user, Action.ADMINISTER, site_lookup="pk")
    if not sites.exists():
        raise PermissionDenied("only a site administrator may do this")
    return sites


def _run(request: HttpRequest, model: type[Any], pk: int) -> Any:
    run = get_object_or_404(model.objects.select_related("site"), pk=pk)
    if not can(request.user, Action.ADMINISTER, run.site_id):
        raise Http404("no such run at your sites")
    return run


@login_required
def imports(request: HttpRequest) -> HttpResponse:
    sites = administered(request)
    form = forms.UploadForm(request.POST or None, request.FILES or None, sites=sites)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        run = ImportRun.objects.create(
            site=form.cleaned_data["site"],
            requested_by=request.user,
            kind=form.cleaned_data["kind"],
            file_name=upload.name,
            content=upload.read(),
            dry_run=form.cleaned_data["dry_run"],
        )
        run_import.delay(run.pk)
        return redirect("registry-import", pk=run.pk)
    runs = ImportRun.objects.filter(site__in=sites).select_related("site", "requested_by")
    return render(
        request,
        "registry/imports.html",
        {"form": form, "runs": runs.defer("content")[:30], "kinds": forms.KINDS},
    )


@login_required
def import_run(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "registry/import_run.html", {"run": _run(request, ImportRun, pk)})


@login_required
def import_status(request: HttpRequest, pk: int) -> JsonResponse:
    """For polling: how far the run is."""
    run = _run(request, ImportRun, pk)
    return JsonResponse(
        {
            "state": run.state,
            "done": run.done,
            "total": run.total,
            "percent": run.percent,
            "created": run.created,
            "updated": run.updated,
            "unchanged": run.unchanged,
            "errors": run.errors,
        }
    )


@login_required
def exports(request: HttpRequest) -> HttpResponse:
    sites = administered(request)
    form = forms.ExportForm(request.POST or None, sites=sites)
    if request.method == "POST" and form.is_valid():
        pseudonym_key()  # refuse before queueing when the key is missing
        export = ResearchExport.objects.create(
            site=form.cleaned_data["site"],
            requested_by=request.user,
            definitions=form.cleaned_data["definitions"],
        )
        run_export.delay(export.pk)
        return redirect("registry-export", pk=export.pk)
    runs = ResearchExport.objects.filter(site__in=sites).select_related("site", "requested_by")
    return render(request, "registry/exports.html", {"form": form, "runs": runs[:30]})


@login_required
def export_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = _run(request, ResearchExport, pk)
    if request.GET.get("format") == "json":  # for polling
        return JsonResponse(
            {
                "state": run.state,
                "done": run.done,
                "total": run.total,
                "percent": run.percent,
                "patients": run.patients,
            }
        )
    return render(request, "registry/export_detail.html", {"run": run})


@login_required
def export_download(request: HttpRequest, pk: int) -> FileResponse:
    export = _run(request, ResearchExport, pk)
    path = settings.RESEARCH_EXPORT_ROOT / export.file_name
    if not export.file_name or not path.is_file():
        raise Http404("the export is not ready")
    audit(
        export,
        actor=Actor.of(request.user),
        action=AuditAction.READ,
        after={"downloaded": export.file_name},
    )
    return FileResponse(path.open("rb"), as_attachment=True, filename=export.file_name)


@login_required
def pseudonym_lookup(request: HttpRequest) -> HttpResponse:
    """A site admin maps a research pseudonym back to the patient; every lookup audited."""
    sites = administered(request)
    form = forms.LookupForm(request.POST or None, sites=sites)
    found: Patient | None = None
    looked_up = False
    if request.method == "POST" and form.is_valid():
        site, wanted = form.cleaned_data["site"], form.cleaned_data["pseudonym"].lower()
        found = find_patient(site, wanted)
        looked_up = True
        audit(
            found or site,
            actor=Actor.of(request.user),
            action=AuditAction.READ,
            after={"research_pseudonym_lookup": wanted, "found": found is not None},
            patient=found,
        )
    return render(
        request,
        "registry/lookup.html",
        {"form": form, "found": found, "looked_up": looked_up},
    )


@login_required
def consent(request: HttpRequest, public_id: Any) -> HttpResponse:
    patient = get_object_or_404(
        Patient.objects.visible_to(request.user).select_related("site"), public_id=public_id
    )
    if not can(request.user, Action.ENTER, patient):
        raise PermissionDenied("you may not enter records at this patient's site")
    instance = Consent.objects.filter(patient=patient).first() or Consent(patient=patient)
    form = forms.ConsentForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        try:
            save_record(form.instance, actor=Actor.of(request.user))
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return redirect("patient-page", public_id=patient.public_id)
    return render(request, "registry/consent_form.html", {"patient": patient, "form": form})
