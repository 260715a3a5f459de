"""On PostgreSQL, compare search terms byte by byte ("C" collation).

Prefix search is a range scan `term >= 'mar' AND term < 'mar\U0010ffff'`; a linguistic
collation may sort some words starting with the prefix outside that range. SQLite already
compares bytes.
"""

from django.db import migrations


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            'ALTER TABLE people_searchterm ALTER COLUMN term TYPE varchar(100) COLLATE "C"'
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            'ALTER TABLE people_searchterm ALTER COLUMN term TYPE varchar(100) COLLATE "default"'
        )


class Migration(migrations.Migration):
    dependencies = [("people", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
