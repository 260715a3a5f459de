from django.urls import path

from solidaria.web import views

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("app/<slug:org_slug>/", views.dashboard, name="dashboard"),
]
