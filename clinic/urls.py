from django.urls import path

from clinic import cohort, site_admin, views, worklists

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
    path("dashboard/", worklists.dashboard, name="dashboard"),
    path("dashboard/rates/", worklists.rates, name="cohort-rates"),
    path("outcomes/", cohort.outcomes, name="outcomes"),
    path("outcomes/<slug:table_id>.csv", cohort.outcomes_csv, name="outcomes-csv"),
    path("alerts/", worklists.inbox, name="inbox"),
    path("alerts/acknowledge/", worklists.acknowledge_many, name="alert-acknowledge-many"),
    path("alerts/<uuid:public_id>/acknowledge/", worklists.acknowledge, name="alert-acknowledge"),
    path("alerts/<uuid:public_id>/resolve/", worklists.resolve, name="alert-resolve"),
    path("site-admin/members/", site_admin.members, name="site-members"),
    path(
        "site-admin/members/<int:membership_id>/remove/",
        site_admin.revoke,
        name="site-member-revoke",
    ),
]
