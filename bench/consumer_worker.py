"""The process ``bench.consumer`` measures: one event handler that does nothing, run one of two ways.

    python -m bench.consumer_worker nameko <amqp_uri>   # the kit's @event_handler in a nameko worker
    python -m bench.consumer_worker kombu <amqp_uri>    # a plain kombu consumer: parse, ack; no framework

Prints ``ready`` once consuming; stops on SIGTERM.
"""

if __name__ == "__main__":  # a nameko worker is monkey-patched before anything else is imported
    import sys

    if sys.argv[1] == "nameko":
        import eventlet

        eventlet.monkey_patch()

import json  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402

SOURCE = "benchsrc"
EVENT_TYPE = "shangji.bench.v1.Noop"
QUEUE = f"evt-{SOURCE}-{EVENT_TYPE}--benchnoop.on_noop"


def run_nameko(amqp_uri: str) -> None:
    import eventlet
    from nameko.runners import ServiceRunner

    from shangji_kit.consumer import event_context, event_handler
    from shangji_kit.envelope import SERIALIZER

    class BenchNoop:
        name = "benchnoop"

        @event_handler(SOURCE, EVENT_TYPE)
        def on_noop(self, body: dict) -> None:
            with event_context(body):
                pass

    runner = ServiceRunner({"AMQP_URI": amqp_uri, "ACCEPT": ["json", SERIALIZER], "PREFETCH_COUNT": 10,
                            "max_workers": 10})
    runner.add_service(BenchNoop)
    stop = eventlet.event.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.ready() or stop.send(True))
    runner.start()
    print("ready", flush=True)
    stop.wait()
    runner.stop()


def run_kombu(amqp_uri: str) -> None:
    import kombu

    from shangji_kit.envelope import Envelope

    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    with kombu.Connection(amqp_uri) as conn:
        channel = conn.channel()
        channel.basic_qos(0, 10, False)

        def on_message(message) -> None:
            Envelope.parse(json.loads(message.body))
            message.ack()

        queue = kombu.Queue(QUEUE, no_declare=True)
        with kombu.Consumer(channel, [queue], callbacks=[lambda body, message: on_message(message)],
                            accept=["application/cloudevents+json", "application/json"]):
            print("ready", flush=True)
            while not stopping:
                try:
                    conn.drain_events(timeout=0.5)
                except TimeoutError:
                    pass


if __name__ == "__main__":
    {"nameko": run_nameko, "kombu": run_kombu}[sys.argv[1]](sys.argv[2])
