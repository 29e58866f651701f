from django.urls import path

from alerts import views

urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("alerts/", views.inbox, name="inbox"),
    path("alerts/acknowledge/", views.acknowledge_many, name="alert-acknowledge-many"),
    path("alerts/<uuid:public_id>/acknowledge/", views.acknowledge, name="alert-acknowledge"),
    path("alerts/<uuid:public_id>/resolve/", views.resolve, name="alert-resolve"),
]
