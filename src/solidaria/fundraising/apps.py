from django.apps import AppConfig


class FundraisingConfig(AppConfig):
    name = "solidaria.fundraising"
    label = "fundraising"
    verbose_name = "Fundraising"
