"""request ids per caller (the kit's idempotency_keys)

Revision ID: 0006
Revises: 0005

CreateLead, CreateCustomer, CreateContact, RecordLeadBehaviour and CreateCampaign remember their request
id per caller in ``idempotency_keys`` (``shangji_kit.request_ids``) instead of a column unique across
callers, so one caller's request id tells another nothing. The request ids already stored are copied
there under the caller that is known (the lead's owner or merger, the customer's owner, the contact's
customer's owner, the behaviour's recorder; campaigns never recorded who made them), so a retry of a
call made before the upgrade still answers with its first result. The old columns stay for the rows
that have them; imports keep using theirs ("import:" ids).
"""

import sqlalchemy as sa
from alembic import op

from shangji_kit import migrate

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_BACKFILL = """
INSERT INTO idempotency_keys (caller, operation, request_id, resource_id, create_time)
SELECT caller, operation, request_id, resource_id, create_time FROM (
    SELECT owner_id::text AS caller, 'CreateLead' AS operation, request_id, 'leads/' || id AS resource_id,
           create_time
      FROM leads WHERE request_id IS NOT NULL AND request_id NOT LIKE 'import:%' AND owner_id IS NOT NULL
    UNION ALL
    SELECT merged_by::text, 'CreateLead', request_id, 'merged:leads/' || lead_id, create_time
      FROM lead_merges WHERE request_id IS NOT NULL AND request_id NOT LIKE 'import:%' AND merged_by IS NOT NULL
    UNION ALL
    SELECT owner_id::text, 'CreateCustomer', request_id, id::text, create_time
      FROM customers WHERE request_id IS NOT NULL
    UNION ALL
    SELECT cu.owner_id::text, 'CreateContact', co.request_id, co.id::text, co.create_time
      FROM contacts co JOIN customers cu ON cu.id = co.customer_id WHERE co.request_id IS NOT NULL
    UNION ALL
    SELECT recorded_by::text, 'RecordLeadBehaviour', request_id, lead_id::text, create_time
      FROM lead_behaviours WHERE request_id IS NOT NULL
) AS known
ON CONFLICT DO NOTHING
"""


def upgrade() -> None:
    bind = op.get_bind()
    migrate.create_request_ids_table(bind)
    bind.execute(sa.text(_BACKFILL))


def downgrade() -> None:
    migrate.drop_request_ids_table(op.get_bind())
