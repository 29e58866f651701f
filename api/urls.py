from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from api import outcomes, results, views

router = DefaultRouter()
router.register("patients", views.PatientViewSet, basename="patient")
router.register("therapy-courses", views.TherapyCourseViewSet, basename="therapycourse")
router.register("visits", views.VisitViewSet, basename="visit")
router.register("relapses", views.RelapseViewSet, basename="relapse")
router.register("mri-scans", views.MriScanViewSet, basename="mriscan")
router.register("nfl-samples", views.NflSampleViewSet, basename="nflsample")
router.register("status", results.StatusViewSet, basename="status")
router.register(
    "progression-events", results.ProgressionEventsViewSet, basename="progression-event"
)
# "api-": the clinic pages own the URL names alert-acknowledge and alert-resolve.
router.register("alerts", results.AlertViewSet, basename="api-alert")

urlpatterns = [
    path("v1/outcomes/", outcomes.OutcomesView.as_view(), name="api-outcomes"),
    path("v1/", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
]
