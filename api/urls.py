from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from api import results, safety, views

router = DefaultRouter()
router.register("patients", views.PatientViewSet, basename="patient")
router.register("therapy-courses", views.TherapyCourseViewSet, basename="therapycourse")
router.register("visits", views.VisitViewSet, basename="visit")
router.register("relapses", views.RelapseViewSet, basename="relapse")
router.register("mri-scans", views.MriScanViewSet, basename="mriscan")
router.register("nfl-samples", views.NflSampleViewSet, basename="nflsample")
router.register("lab-results", safety.LabResultViewSet, basename="labresult")
router.register("adverse-events", safety.AdverseEventViewSet, basename="adverseevent")
router.register("pregnancies", safety.PregnancyViewSet, basename="pregnancy")
router.register("analytes", safety.AnalyteViewSet, basename="analyte")
router.register("monitoring-items", safety.MonitoringItemViewSet, basename="monitoringitem")
router.register("status", results.StatusViewSet, basename="status")
router.register(
    "progression-events", results.ProgressionEventsViewSet, basename="progression-event"
)
# "api-": the clinic pages own the URL names alert-acknowledge and alert-resolve.
router.register("alerts", results.AlertViewSet, basename="api-alert")

urlpatterns = [
    path("v1/", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
]
