"""The samples database schema. Its domain tables arrive with its own issue; the outbox and inbox are here
so the worker's relay and future consumers work from the first deploy."""

import sqlalchemy as sa

from shangji_kit.inbox import inbox_table
from shangji_kit.outbox import outbox_table

metadata = sa.MetaData()
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
