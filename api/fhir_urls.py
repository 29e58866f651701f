from django.urls import path

from api import fhir_bulk, fhir_search, fhir_views

urlpatterns = [
    path("", fhir_views.TransactionView.as_view(), name="fhir-transaction"),
    path("$export", fhir_bulk.ExportView.as_view(), name="fhir-export"),
    path("Patient/$export", fhir_bulk.ExportView.as_view(), name="fhir-patient-export"),
    path("Group/<str:group>/$export", fhir_bulk.ExportView.as_view(), name="fhir-group-export"),
    path("bulk-status/<uuid:id>", fhir_bulk.ExportStatusView.as_view(), name="fhir-bulk-status"),
    path(
        "bulk-files/<uuid:id>/<str:kind>.ndjson",
        fhir_bulk.ExportFileView.as_view(),
        name="fhir-bulk-file",
    ),
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
