from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.urls import include, path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)
from rest_framework.routers import DefaultRouter

from api import consent, outcomes, results, safety, views

router = DefaultRouter()
router.register("patients", views.PatientViewSet, basename="patient")
router.register("therapy-courses", views.TherapyCourseViewSet, basename="therapycourse")
router.register("visits", views.VisitViewSet, basename="visit")
router.register("relapses", views.RelapseViewSet, basename="relapse")
router.register("mri-scans", views.MriScanViewSet, basename="mriscan")
router.register("nfl-samples", views.NflSampleViewSet, basename="nflsample")
router.register("consents", consent.ConsentViewSet, basename="consent")
router.register("lab-results", safety.LabResultViewSet, basename="labresult")
router.register("adverse-events", safety.AdverseEventViewSet, basename="adverseevent")
router.register("pregnancies", safety.PregnancyViewSet, basename="pregnancy")
router.register("comorbidities", safety.ComorbidityViewSet, basename="comorbidity")
router.register("analytes", safety.AnalyteViewSet, basename="analyte")
router.register("monitoring-items", safety.MonitoringItemViewSet, basename="monitoringitem")
router.register("status", results.StatusViewSet, basename="status")
router.register(
    "progression-events", results.ProgressionEventsViewSet, basename="progression-event"
)
# "api-": the clinic pages own the URL names alert-acknowledge and alert-resolve.
router.register("alerts", results.AlertViewSet, basename="api-alert")

# Swagger UI and ReDoc inject their styles at run time; their scripts still come from this
# server (the split view serves Swagger's set-up script as a file, not inline).
docs_styles = csp_update({"style-src": [UNSAFE_INLINE]})

urlpatterns = [
    path("v1/outcomes/", outcomes.OutcomesView.as_view(), name="api-outcomes"),
    path("v1/", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "docs/",
        docs_styles(SpectacularSwaggerSplitView.as_view(url_name="schema")),
        name="api-docs",
    ),
    path(
        "redoc/",
        docs_styles(SpectacularRedocView.as_view(url_name="schema")),
        name="api-redoc",
    ),
]
