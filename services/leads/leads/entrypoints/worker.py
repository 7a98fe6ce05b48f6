"""The leads nameko worker: relays the outbox. Leads consumes no events yet."""

from shangji_kit.worker import OutboxRelayRunner


class LeadsWorker:
    name = "leads"
    relay = OutboxRelayRunner("leads")
