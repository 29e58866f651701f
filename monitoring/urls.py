from django.urls import path

from monitoring import views

urlpatterns = [
    path("patients/", views.patient_list, name="patient-search"),
    path("patients/<uuid:public_id>/", views.patient_detail, name="patient-page"),
    path("patients/<uuid:public_id>/new/<slug:kind>/", views.record_new, name="record-new"),
    path(
        "patients/<uuid:public_id>/therapy/<uuid:course_id>/stop/",
        views.therapy_stop,
        name="therapy-stop",
    ),
]
