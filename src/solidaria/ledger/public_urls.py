"""Under /<org_slug>/transparency/: the machine-readable ledger files (see docs/ledger.md)."""

from django.urls import path

from solidaria.ledger import views

app_name = "ledger"
urlpatterns = [
    path("ledger.jsonl", views.ledger_jsonl, name="jsonl"),
    path("checkpoint.json", views.checkpoint, name="checkpoint"),
    path("key", views.key, name="key"),
    path("proof", views.proof, name="proof"),
    path("consistency", views.consistency, name="consistency"),
]
