from django.urls import path  # noqa: F401

app_name = "fundraising_transparency"
urlpatterns: list = []
