"""STORE_URL carries Cassandra credentials and TLS; no URL is ever shown with its password."""

import ssl

import pytest

from server.logs import redacted
from server.storage.urls import cassandra_settings


def test_credentials_and_tls_from_the_url():
    settings = cassandra_settings("cassandra://digits:s%40cret@db1,db2:9142/classes?ssl=true", environ={})
    assert settings["username"] == "digits"
    assert settings["password"] == "s@cret"
    assert settings["hosts"] == ["db1", "db2"]
    assert settings["port"] == 9142
    assert settings["keyspace"] == "classes"
    context = settings["ssl_context"]
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname


def test_credentials_from_the_environment():
    environ = {"CASSANDRA_USERNAME": "digits", "CASSANDRA_PASSWORD": "pw"}
    settings = cassandra_settings("cassandra://db1/classes", environ=environ)
    assert (settings["username"], settings["password"]) == ("digits", "pw")
    assert settings["ssl_context"] is None
    assert settings["port"] == 9042


def test_no_credentials_no_auth():
    settings = cassandra_settings("cassandra://127.0.0.1:19042/test", environ={})
    assert settings["username"] is None
    assert settings["password"] is None


def test_a_ca_file_is_used():
    ca = ssl.get_default_verify_paths().cafile
    if not ca:
        pytest.skip("no system CA file to point ssl_ca at")
    context = cassandra_settings(f"cassandra://db1/ks?ssl=true&ssl_ca={ca}", environ={})["ssl_context"]
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.get_ca_certs()


def test_the_store_gets_an_auth_provider():
    from cassandra.auth import PlainTextAuthProvider

    from server.storage.cassandra import CassandraStore

    store = CassandraStore(**cassandra_settings("cassandra://u:p@db1/ks", environ={}))
    assert isinstance(store.auth_provider, PlainTextAuthProvider)
    assert store.auth_provider.password == "p"


def test_redacted_hides_passwords():
    assert redacted("cassandra://digits:s3cret@db1,db2:9042/ks?ssl=true") == "cassandra://digits:***@db1,db2:9042/ks"
    assert redacted("redis://:s3cret@redis:6379/0") == "redis://:***@redis:6379/0"
    assert redacted("redis://redis:6379/0") == "redis://redis:6379/0"
    assert redacted("sqlite:////data/attempts.db") == "sqlite:////data/attempts.db"
    assert "s3cret" not in redacted("cassandra://u:s3cret@h/ks")
    assert redacted("cassandra://user@h/ks") == "cassandra://user@h/ks"


def test_init_db_never_prints_the_password(make_app, tmp_path):
    app = make_app(STORE_URL=f"sqlite://user:s3cret@/{tmp_path / 'x.db'}")
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert "s3cret" not in result.output
    assert "Schema ready" in result.output


def test_the_message_queue_url_carries_a_redis_password():
    """Socket.IO's RedisManager and the model switch both open MESSAGE_QUEUE_URL with redis-py's from_url."""
    import redis

    pool = redis.Redis.from_url("redis://:s3cret@redis:6379/0").connection_pool
    assert pool.connection_kwargs["password"] == "s3cret"


def test_open_store_passes_credentials_and_tls_on(monkeypatch):
    """open_store itself (connecting is lazy, so no node is needed): the 2.1 test node has no auth."""
    from server.storage.urls import open_store

    monkeypatch.delenv("CASSANDRA_USERNAME", raising=False)
    store = open_store("cassandra://digits:pw@db1,db2:9142/classes?ssl=true", retention_seconds=60)
    assert store.auth_provider.username == "digits"
    assert store.auth_provider.password == "pw"
    assert store.ssl_context.verify_mode == ssl.CERT_REQUIRED
    assert (store.hosts, store.port, store.keyspace, store.retention_seconds) == (["db1", "db2"], 9142, "classes", 60)
    monkeypatch.setenv("CASSANDRA_USERNAME", "env-user")
    monkeypatch.setenv("CASSANDRA_PASSWORD", "env-pw")
    from_environment = open_store("cassandra://db1/classes")
    assert from_environment.auth_provider.username == "env-user"
    assert from_environment.ssl_context is None


def test_a_bad_store_url_is_reported_without_its_password():
    from server.storage.urls import open_store

    with pytest.raises(ValueError, match=r"\*\*\*") as raised:
        open_store("postgres://admin:s3cret@db/x")
    assert "s3cret" not in str(raised.value)


def test_a_redis_password_works_and_is_never_logged(tmp_path, seven_frame):
    """A real server on a password-protected Redis: the live feed goes through it, and neither the
    queue's password nor the store's appears in anything the server prints or logs."""
    import subprocess
    import time
    import uuid

    import redis
    import socketio

    from tests.support.server_process import TEACHER_TOKEN, free_port, running_server

    port = free_port()
    options = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(tmp_path)]
    server = subprocess.Popen(
        ["redis-server", *options, "--requirepass", "queue-s3cret"],
        stdout=subprocess.DEVNULL,
    )
    queue = f"redis://:queue-s3cret@127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(queue).ping()
                break
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.1)
        with pytest.raises(redis.AuthenticationError):
            redis.Redis.from_url(f"redis://127.0.0.1:{port}/0").ping()  # the password is really needed
        data = tmp_path / "server"
        data.mkdir()
        store = f"sqlite://digits:store-s3cret@/{data / 'attempts.db'}"
        with running_server(data, MESSAGE_QUEUE_URL=queue, STORE_URL=store) as base:
            dashboard = socketio.SimpleClient()
            dashboard.connect(base, transports=["websocket"], auth={"token": TEACHER_TOKEN})
            assert dashboard.call("watch", timeout=10)["ok"] is True
            drawer = socketio.SimpleClient()
            drawer.connect(base, transports=["websocket"])
            attempt_id = str(uuid.uuid4())
            drawer.emit("frame", {"attempt_id": attempt_id, "seq": 0, "image": seven_frame, "final": True})
            assert drawer.receive(timeout=20)[0] == "prediction"
            while (event := dashboard.receive(timeout=20))[0] != "attempt":
                pass
            assert event[1]["attempt_id"] == attempt_id, "the feed went through the password-protected queue"
            for client in (drawer, dashboard):
                client.disconnect()
        printed = (data / "server.log").read_text()
        assert "Serving on" in printed, "the server's output, and gunicorn's log, were captured"
        assert "s3cret" not in printed
    finally:
        server.terminate()
        server.wait(timeout=10)
