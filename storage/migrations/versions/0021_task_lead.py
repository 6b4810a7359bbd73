"""Each task's lead, kept on the task by the database

Revision ID: 0021
Revises: 0020

A plan's overview counts every task by who answers for it: its section's agency and its one lead.
Finding the lead was a correlated subquery per task over task_agency, about a quarter of the
counting statement on a province's 60,000 tasks. `task.lead` holds it instead: the lead agency's
id when there is one, 0 when there is none, -1 when several agencies lead (summary_sql's NO_LEAD
and CO_LED_MARK). Triggers on task_agency keep it, whatever writes the links (an import, a merge
of agencies, a cascade): no code path can forget it.

A lead added moves the task from none to it, or from one to several, without counting. A lead
removed or moved makes the trigger count the task's leads again; on PostgreSQL it first locks the
task's row, so that two transactions changing one task's leads at once take turns and the second
counts what the first committed (each statement of a PL/pgSQL function sees what was committed
before it began, under READ COMMITTED).
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def lead_of(task_id: str) -> str:
    return (
        "(SELECT CASE WHEN count(*) > 1 THEN -1 ELSE coalesce(max(agency_id), 0) END"
        f" FROM task_agency WHERE task_agency.task_id = {task_id} AND task_agency.role = 'lead')"
    )


BACKFILL = f"UPDATE task SET lead = {lead_of('task.id')}"

# A lead added: the task had none (it now has this one) or had some (now several). The unique key
# on (task_id, agency_id, role) rules out the same agency twice. No count: an import adds a link
# per task, and a count per link made a first import slower by a tenth.
ADDED = "UPDATE task SET lead = CASE WHEN lead = 0 THEN NEW.agency_id ELSE -1 END WHERE id = NEW.task_id"

SQLITE_TRIGGERS = (
    f"CREATE TRIGGER tr_task_agency_lead_insert AFTER INSERT ON task_agency WHEN NEW.role = 'lead' BEGIN {ADDED}; END",
    "CREATE TRIGGER tr_task_agency_lead_delete AFTER DELETE ON task_agency WHEN OLD.role = 'lead'"
    f" BEGIN UPDATE task SET lead = {lead_of('OLD.task_id')} WHERE id = OLD.task_id; END",
    "CREATE TRIGGER tr_task_agency_lead_update AFTER UPDATE OF task_id, agency_id, role ON task_agency"
    " WHEN OLD.role = 'lead' OR NEW.role = 'lead'"
    f" BEGIN UPDATE task SET lead = {lead_of('OLD.task_id')} WHERE id = OLD.task_id;"
    f" UPDATE task SET lead = {lead_of('NEW.task_id')} WHERE id = NEW.task_id; END",
)

POSTGRESQL_FUNCTIONS = (
    f"""
    CREATE FUNCTION task_lead_refresh(target integer) RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM 1 FROM task WHERE id = target FOR UPDATE;
        UPDATE task SET lead = {lead_of("target")} WHERE id = target;
    END
    $$
    """,
    f"""
    CREATE FUNCTION task_agency_lead() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            IF NEW.role = 'lead' THEN
                -- A transaction waiting here for another's lock on the task works out its CASE
                -- again on the row the other committed.
                {ADDED};
            END IF;
            RETURN NULL;
        END IF;
        IF OLD.role = 'lead' THEN
            PERFORM task_lead_refresh(OLD.task_id);
        END IF;
        IF TG_OP = 'UPDATE' AND NEW.role = 'lead' THEN
            PERFORM task_lead_refresh(NEW.task_id);
        END IF;
        RETURN NULL;
    END
    $$
    """,
    "CREATE TRIGGER tr_task_agency_lead AFTER INSERT OR DELETE OR UPDATE OF task_id, agency_id, role"
    " ON task_agency FOR EACH ROW EXECUTE FUNCTION task_agency_lead()",
)


def upgrade() -> None:
    op.add_column("task", sa.Column("lead", sa.Integer(), server_default=sa.text("0"), nullable=False))
    op.execute(BACKFILL)
    statements = POSTGRESQL_FUNCTIONS if op.get_bind().dialect.name == "postgresql" else SQLITE_TRIGGERS
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER tr_task_agency_lead ON task_agency")
        op.execute("DROP FUNCTION task_agency_lead()")
        op.execute("DROP FUNCTION task_lead_refresh(integer)")
    else:
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER tr_task_agency_lead_{name}")
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.drop_column("lead")
