from django.apps import AppConfig


class ConsentConfig(AppConfig):
    name = "solidaria.consent"
    label = "consent"
    verbose_name = "Consent"

    def ready(self) -> None:
        from solidaria.consent import privacy
        from solidaria.people import registry

        registry.register(privacy.OWNER)
