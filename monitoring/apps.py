from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = "Clinical monitoring"

    def ready(self) -> None:
        from monitoring.signals import on_patient_data_changed
        from patients.signals import patient_data_changed

        patient_data_changed.connect(on_patient_data_changed, dispatch_uid="monitoring.latest")
