from django.urls import path

from solidaria.fundraising import transparency

app_name = "fundraising_transparency"

urlpatterns = [
    path("", transparency.page, name="page"),
]
