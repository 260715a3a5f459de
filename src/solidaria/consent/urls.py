from django.urls import path

from solidaria.consent import views

app_name = "consent"

urlpatterns = [
    path("contacts/<int:contact_id>/record", views.record, name="record"),
    path("contacts/<int:contact_id>/history", views.history, name="history"),
]
