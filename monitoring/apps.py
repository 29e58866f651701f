from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = "Clinical monitoring"

    def ready(self) -> None:
        from monitoring.signals import on_patients_data_changed
        from patients.signals import patients_data_changed

        patients_data_changed.connect(on_patients_data_changed, dispatch_uid="monitoring.latest")
