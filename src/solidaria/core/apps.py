from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "solidaria.core"
    label = "core"
    verbose_name = "Solidaria core"
