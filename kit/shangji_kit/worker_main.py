"""Entry point of a worker process: ``python -m shangji_kit.worker_main <service> <module>:<Class>``.

Monkey patching happens before anything else is imported; then psycopg's C wait loop (which
blocks the eventlet hub) is replaced by ``wait_select`` and asserted.
"""

if __name__ == "__main__":  # must precede every other import in a worker process
    import eventlet

    eventlet.monkey_patch()

import importlib  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402

from shangji_kit import db, heartbeat, log, metrics, tracing  # noqa: E402
from shangji_kit.settings import Settings  # noqa: E402
from shangji_kit.worker import apply_psycopg_wait_fix, assert_psycopg_wait_fix, nameko_config  # noqa: E402

_log = log.get(__name__)


def run(service: str, target: str) -> None:
    from nameko.runners import ServiceRunner

    apply_psycopg_wait_fix()
    assert_psycopg_wait_fix()
    settings = Settings.for_service(service)
    db.set_role(service, db.WORKER)
    log.configure(f"{service}.worker", settings.log_level)
    tracing.configure(f"shangji-{service}-worker")
    module_name, _, class_name = target.partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    runner = ServiceRunner(nameko_config(settings))
    runner.add_service(cls)

    import eventlet

    stop_event = eventlet.event.Event()

    def on_term(signum, frame):
        if not stop_event.ready():
            stop_event.send(signum)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    metrics.serve(service=service, outbox_database_url=settings.database_url)
    runner.start()
    # liveness: the file stays fresh only while the hub runs green threads (shangji_kit.heartbeat)
    eventlet.spawn(heartbeat.beat_forever, eventlet.sleep)
    _log.info("worker started", extra=log.fields(service=service))
    stop_event.wait()
    _log.info("worker stopping: draining in-flight events")
    with eventlet.Timeout(settings.drain_seconds, False):
        runner.stop()
    runner.kill()


if __name__ == "__main__":
    run(sys.argv[1], sys.argv[2])
