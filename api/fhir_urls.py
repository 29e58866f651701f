from django.urls import path

from api import fhir_views

urlpatterns = [
    path("", fhir_views.TransactionView.as_view(), name="fhir-transaction"),
    path(
        "Patient/<str:id>/$everything", fhir_views.EverythingView.as_view(), name="fhir-everything"
    ),
]
