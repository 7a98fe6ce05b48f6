"""reports: every campaign touch on a lead (lead_touches), kept by a trigger on leads.campaign_id

Revision ID: 0007
Revises: 0006

A lead's campaign is set by CreateLead, UpdateLead, the import and a merge; the trigger records each value it
takes (insert, or a change of campaign_id) with the write's update_time, whatever path wrote it, in the same
transaction. Existing leads get one touch: their current campaign at their create_time.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lead_touches",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("lead_id", pg.UUID(as_uuid=False), sa.ForeignKey("leads.id"), nullable=False),
        sa.Column("campaign_id", pg.UUID(as_uuid=False), nullable=False),
        sa.Column("touch_time", sa.DateTime(timezone=True), nullable=False),
        sa.Index("lead_touches_lead", "lead_id", "touch_time", "id"),
    )
    op.execute("INSERT INTO lead_touches (lead_id, campaign_id, touch_time) "
               "SELECT id, campaign_id, create_time FROM leads WHERE campaign_id IS NOT NULL ORDER BY create_time, id")
    op.execute("""
        CREATE FUNCTION record_lead_touch() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.campaign_id IS NOT NULL
               AND (TG_OP = 'INSERT' OR NEW.campaign_id IS DISTINCT FROM OLD.campaign_id) THEN
                INSERT INTO lead_touches (lead_id, campaign_id, touch_time)
                VALUES (NEW.id, NEW.campaign_id, NEW.update_time);
            END IF;
            RETURN NULL;
        END $$""")
    op.execute("CREATE TRIGGER leads_campaign_touch AFTER INSERT OR UPDATE OF campaign_id ON leads "
               "FOR EACH ROW EXECUTE FUNCTION record_lead_touch()")


def downgrade() -> None:
    op.execute("DROP TRIGGER leads_campaign_touch ON leads")
    op.execute("DROP FUNCTION record_lead_touch()")
    op.drop_table("lead_touches")
