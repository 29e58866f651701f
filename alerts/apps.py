from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Alerts"

    def ready(self) -> None:
        from alerts.tasks import on_patients_data_changed
        from patients.signals import patients_data_changed

        # Every audited write announces itself after commit; evaluation follows from there.
        patients_data_changed.connect(on_patients_data_changed, dispatch_uid="alerts.enqueue")
