from django.urls import path

from api import fhir_search, fhir_views

urlpatterns = [
    path("", fhir_views.TransactionView.as_view(), name="fhir-transaction"),
    path("metadata", fhir_search.MetadataView.as_view(), name="fhir-metadata"),
    path("Patient", fhir_search.PatientSearchView.as_view(), name="fhir-patient-search"),
    path(
        "Observation",
        fhir_search.ObservationSearchView.as_view(),
        name="fhir-observation-search",
    ),
    path(
        "Patient/<str:id>/$everything", fhir_views.EverythingView.as_view(), name="fhir-everything"
    ),
]
