from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "solidaria.people"
    label = "people"
    verbose_name = "People"
