from django.apps import AppConfig


class ConsentConfig(AppConfig):
    name = "solidaria.consent"
    label = "consent"
    verbose_name = "Consent"

    def ready(self) -> None:
        from solidaria.consent import privacy, views
        from solidaria.people import registry

        registry.register(privacy.OWNER)
        registry.register_panel(
            registry.ContactPanel(
                name="consent",
                template="consent/_panel.html",
                context=views.panel_context,
                order=10,
            )
        )
