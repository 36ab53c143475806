"""Every text column is classified for erasure: a new one that may hold a person's data is
not forgotten (pretix could not prove every log type was covered; this proves it here)."""

from sqlalchemy import String, Text, TypeDecorator

from app.models import metadata
from app.services.privacy import TEXT_COLUMNS


def text_columns() -> set[str]:
    found = set()
    for table in metadata.sorted_tables:
        for column in table.columns:
            stored = column.type
            stored = stored.impl_instance if isinstance(stored, TypeDecorator) else stored
            if isinstance(stored, String | Text):
                found.add(f"{table.name}.{column.name}")
    return found


def test_every_text_column_says_what_erasure_does_with_it() -> None:
    unclassified = text_columns() - TEXT_COLUMNS.keys()
    assert not unclassified, (
        f"{sorted(unclassified)}: can these hold a participant's data? Add them to "
        "TEXT_COLUMNS in app/services/privacy.py (and, if they can, to what erase takes off)"
    )


def test_no_classified_column_is_gone() -> None:
    assert not TEXT_COLUMNS.keys() - text_columns()
