"""The teams nameko worker: relays the outbox. Teams consumes no events yet."""

from shangji_kit.worker import OutboxRelayRunner


class TeamsWorker:
    name = "teams"
    relay = OutboxRelayRunner("teams")
