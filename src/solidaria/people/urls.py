from django.urls import path

from solidaria.people import views

app_name = "people"

urlpatterns = [
    path("", views.contact_list, name="contact_list"),
    path("new/", views.contact_create, name="contact_create"),
    path("<int:contact_id>/", views.contact_detail, name="contact_detail"),
    path("<int:contact_id>/edit/", views.contact_edit, name="contact_edit"),
    path("<int:contact_id>/activities/", views.activity_add, name="activity_add"),
    path("<int:contact_id>/relationships/", views.relationship_add, name="relationship_add"),
    path(
        "<int:contact_id>/relationships/candidates/",
        views.relationship_candidates,
        name="relationship_candidates",
    ),
    path("<int:contact_id>/export/", views.contact_export, name="contact_export"),
    path("<int:contact_id>/erase/", views.contact_erase, name="contact_erase"),
    path("<int:contact_id>/delete/", views.contact_delete, name="contact_delete"),
]
