from django.urls import path

from monitoring import views

urlpatterns = [
    path("patients/", views.patient_list, name="patient-search"),
    path("patients/new/", views.patient_new, name="patient-new"),
    path("patients/<uuid:public_id>/", views.patient_detail, name="patient-page"),
    path("patients/<uuid:public_id>/edit/", views.patient_edit, name="patient-edit"),
    path(
        "patients/<uuid:public_id>/<slug:kind>/<uuid:record_id>/edit/",
        views.record_edit,
        name="record-edit",
    ),
    path(
        "patients/<uuid:public_id>/<slug:kind>/<uuid:record_id>/error/",
        views.record_error,
        name="record-error",
    ),
    path("patients/<uuid:public_id>/new/<slug:kind>/", views.record_new, name="record-new"),
    path(
        "patients/<uuid:public_id>/therapy/<uuid:course_id>/stop/",
        views.therapy_stop,
        name="therapy-stop",
    ),
]
