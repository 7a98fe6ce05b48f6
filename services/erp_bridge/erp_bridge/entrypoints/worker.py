"""The erp_bridge nameko worker: relays the outbox; subscribes to nothing yet."""

from shangji_kit.worker import OutboxRelayRunner


class ErpBridgeWorker:
    name = "erp_bridge"
    relay = OutboxRelayRunner("erp_bridge")
