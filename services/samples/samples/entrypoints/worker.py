"""The samples nameko worker: relays the outbox; subscribes to nothing yet."""

from shangji_kit.worker import OutboxRelayRunner


class SamplesWorker:
    name = "samples"
    relay = OutboxRelayRunner("samples")
