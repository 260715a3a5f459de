"""Administration pages, included under `app/<slug:org_slug>/` by the root URLconf."""

from django.urls import path

from solidaria.core import views

app_name = "core"

urlpatterns = [
    path("audit/", views.audit, name="audit"),
    path("audit/export.csv", views.audit_csv, name="audit_csv"),
    path("staff/", views.staff, name="staff"),
    path("staff/<int:membership_id>/role/", views.staff_role, name="staff_role"),
    path("staff/<int:membership_id>/remove/", views.staff_remove, name="staff_remove"),
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/<int:token_id>/revoke/", views.token_revoke, name="token_revoke"),
    path("settings/", views.organization_settings, name="settings"),
]
