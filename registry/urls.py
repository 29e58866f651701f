from django.urls import path

from registry import views

urlpatterns = [
    path("patients/<uuid:public_id>/consent/", views.consent, name="consent"),
    path("registry/imports/", views.imports, name="registry-imports"),
    path("registry/imports/<int:pk>/", views.import_run, name="registry-import"),
    path("registry/imports/<int:pk>/status/", views.import_status, name="registry-import-status"),
    path("registry/exports/", views.exports, name="registry-exports"),
    path("registry/exports/<int:pk>/", views.export_detail, name="registry-export"),
    path(
        "registry/exports/<int:pk>/download/",
        views.export_download,
        name="registry-export-download",
    ),
    path("registry/pseudonyms/", views.pseudonym_lookup, name="registry-lookup"),
]
