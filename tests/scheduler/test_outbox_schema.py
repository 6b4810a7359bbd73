"""The reminder tables the migrations build are the ones the models describe."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from storage.models import Base
from storage.models.people import declare_dialect_indexes

OUTBOX_TABLES = {
    "reminder",
    "rate_budget",
    "parked_reply",
    "zalo_oa_token",
    "zalo_oa_contact",
    "zalo_oa_quota",
    "member",
}


def _differences_in_outbox_tables(connection) -> list:
    declare_dialect_indexes()
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    found = []
    for diff in compare_metadata(context, Base.metadata):
        items = diff if isinstance(diff, list) else [diff]
        for item in items:
            text = repr(item)
            if any(f"'{table}'" in text or f"table_name='{table}'" in text for table in OUTBOX_TABLES):
                found.append(item)
            elif any(f"Table('{table}'" in text or f"name='{table}'" in text for table in OUTBOX_TABLES):
                found.append(item)
    return found


async def test_migrated_outbox_tables_match_the_models(db):
    expected: list = []
    async with db.engine.connect() as conn:
        differences = await conn.run_sync(_differences_in_outbox_tables)
    assert differences == expected
