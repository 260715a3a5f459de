from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "solidaria.web"
    label = "web"
    verbose_name = "Staff interface"
