"""Loops the worker runs beside its event handlers: one per external channel, and one for reminders.

Each channel has its own loop (a green thread in the nameko worker), so a channel whose server is down
or slow holds up only its own deliveries: email keeps going while a robot times out. A loop that finds
nothing due sleeps ``poll_seconds``; one that did work goes again at once.
"""

from __future__ import annotations

from collections.abc import Callable

from nameko.extensions import DependencyProvider

from notify import bootstrap
from notify.domain.channels import Sender
from notify.service_layer import delivery, reminders
from notify.service_layer.context import Rules
from shangji_kit import log
from shangji_kit.settings import NotifySettings

_log = log.get(__name__)


def channel_round(channel: str, sender: Sender, uow_factory, rules: Rules, clock) -> Callable[[], int]:
    return lambda: delivery.deliver_due(channel, sender, uow_factory(), rules, clock)


def reminder_round(uow_factory, rules: Rules, clock) -> Callable[[], int]:
    return lambda: reminders.fire_due(uow_factory(), rules, clock())


def run_loop(name: str, one_round: Callable[[], int], stopping: Callable[[], bool], sleep: Callable[[float], None],
             poll_seconds: float) -> None:
    while not stopping():
        try:
            did = one_round()
        except Exception:  # a database hiccup must not end the loop; the next round retries
            _log.exception("notify loop failed; retrying", extra=log.fields(loop=name))
            did = 0
        if not did:
            sleep(poll_seconds)


class DeliveryRunners(DependencyProvider):
    """Starts the channel loops and the reminder loop with the worker, stops them with it."""

    def __init__(self) -> None:
        self._stopping = False

    def start(self) -> None:
        import eventlet

        settings = NotifySettings.from_env()
        uow_factory = bootstrap.uow_factory()
        rules = bootstrap.rules(settings)
        self._stopping = False
        loops = {f"deliver.{c}": channel_round(c, s, uow_factory, rules, bootstrap.clock)
                 for c, s in bootstrap.senders(settings).items()}
        loops["reminders"] = reminder_round(uow_factory, rules, bootstrap.clock)
        for name, one_round in loops.items():
            self.container.spawn_managed_thread(
                lambda n=name, r=one_round: run_loop(n, r, lambda: self._stopping, eventlet.sleep,
                                                     settings.poll_seconds),
                identifier=f"notify.{name}")

    def stop(self) -> None:
        self._stopping = True

    def kill(self) -> None:
        self._stopping = True
