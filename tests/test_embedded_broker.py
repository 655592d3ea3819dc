"""The embedded broker of `make run` (kombu's filesystem transport, config.settings.base) writes only under its own
folder: its exchange tables once landed in a `control/` folder of whatever directory the process ran in, the
repository's root."""

from kombu import Connection, Exchange, Queue

from config.settings.base import filesystem_broker_options


def test_a_message_goes_through_and_nothing_is_written_outside_the_brokers_folder(tmp_path, monkeypatch):
    broker, elsewhere = tmp_path / "broker", tmp_path / "cwd"
    for folder in (broker / "queue", broker / "processed", broker / "control", elsewhere):
        folder.mkdir(parents=True)
    monkeypatch.chdir(elsewhere)
    exchange = Exchange("celery", type="direct")
    queue = Queue("celery", exchange, routing_key="celery")
    with Connection("filesystem://", transport_options=filesystem_broker_options(broker)) as connection:
        connection.Producer().publish({"task": "ping"}, exchange=exchange, routing_key="celery", declare=[queue])
        received = []
        with connection.Consumer(queue, callbacks=[lambda body, message: (received.append(body), message.ack())]):
            connection.drain_events(timeout=5)
    assert received == [{"task": "ping"}]
    assert list(elsewhere.iterdir()) == []
    assert (broker / "control" / "celery.exchange").exists()
