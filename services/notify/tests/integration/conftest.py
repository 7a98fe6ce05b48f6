"""Fixtures of notify's integration tests: its real database, OpportunityRegistered and
OpportunityTeamMemberAdded envelopes."""

import json
import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from google.protobuf import json_format
from nameko.testing.services import worker_factory

from notify import bootstrap
from notify.entrypoints.worker import NotifyWorker
from shangji.opportunities.v1 import events_pb2, opportunities_pb2
from shangji.teams.v1 import events_pb2 as teams_events
from shangji.teams.v1 import teams_pb2
from shangji_kit import envelope
from shangji_kit.settings import Settings


@pytest.fixture
def worker(shangji_env):
    """The nameko worker's handlers, wired to the session's real database."""
    return worker_factory(NotifyWorker, uow=bootstrap.uow_factory(Settings.for_service("notify")))


def _scalar(sql: str, **params) -> object:
    eng = sa.create_engine(Settings.for_service("notify").database_url, poolclass=sa.pool.NullPool)
    with eng.connect() as conn:
        value = conn.execute(sa.text(sql), params).scalar_one()
    eng.dispose()
    return value


@pytest.fixture
def scalar(shangji_env):
    """``scalar(sql, **params)``: one value read from the notify database."""
    return _scalar


def _opportunity_registered(*, owner: str, registrant: str | None = None, event_id: str | None = None,
                            title: str = "智能仓储系统二期") -> dict:
    deal_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    deal = opportunities_pb2.Opportunity(
        name=f"opportunities/{deal_id}", id=deal_id, title=title, customer_company="华东精密机械有限公司",
        contact_name="王经理", owner=f"users/{owner}", registrant=f"users/{registrant or owner}",
        pipeline=f"pipelines/{uuid.uuid4()}", stage="discover", stage_display_name="发现机会",
        lead=f"leads/{uuid.uuid4()}", etag="1")
    deal.create_time.FromDatetime(now)
    deal.update_time.FromDatetime(now)
    return envelope.build(
        service="opportunities", id=event_id or str(uuid.uuid4()),
        type="shangji.opportunities.v1.OpportunityRegistered", subject=deal.name, time=now,
        dataschema="proto:shangji.opportunities.v1.OpportunityRegistered",
        data=json_format.MessageToDict(events_pb2.OpportunityRegistered(opportunity=deal)), correlation_id=None)


@pytest.fixture
def opportunity_registered():
    """``opportunity_registered(owner=..., registrant=...)``: an envelope as opportunities' relay publishes it."""
    return _opportunity_registered


def _team_member_added(*, member: str, added_by: str, role: str = "solution_manager",
                       opportunity: str | None = None, event_id: str | None = None) -> dict:
    opportunity = opportunity or f"opportunities/{uuid.uuid4()}"
    now = datetime.now(UTC)
    added = teams_events.OpportunityTeamMemberAdded(
        opportunity=opportunity, added_by=f"users/{added_by}",
        member=teams_pb2.OpportunityTeamMember(user=f"users/{member}", role=role, can_edit=True))
    added.member.add_time.FromDatetime(now)
    return envelope.build(
        service="teams", id=event_id or str(uuid.uuid4()), type="shangji.teams.v1.OpportunityTeamMemberAdded",
        subject=f"{opportunity}/team", time=now, dataschema="proto:shangji.teams.v1.OpportunityTeamMemberAdded",
        data=json_format.MessageToDict(added), correlation_id=None)


@pytest.fixture
def team_member_added():
    """``team_member_added(member=..., added_by=..., role=...)``: an envelope as teams' relay publishes it."""
    return _team_member_added


# --- local servers that check messages the way the real robots and mail relay do ----------------------

class RobotServers:
    """WeCom, DingTalk, Feishu and generic-webhook endpoints on one local HTTP server.

    Each checks what its real counterpart checks (format, signature, keywords) and answers as it does,
    including the per-robot limit of 20 messages a minute (WeCom errcode 45009, DingTalk 130101), counted
    on ``clock`` so a test can move time. ``fail(prefix, n)`` answers HTTP 500 to the next n requests on a
    path; ``hold(prefix)`` keeps requests on a path waiting until ``release()``.
    """

    def __init__(self, clock) -> None:
        import threading
        from http.server import ThreadingHTTPServer

        self.clock = clock
        self.secrets: dict[str, str] = {}
        self.keywords: dict[str, list[str]] = {}
        self.accepted: list[tuple[str, dict]] = []
        self.refused: list[tuple[str, str]] = []
        self.sent_times: dict[str, list] = {}
        self.failures: dict[str, int] = {}
        self.held: set[str] = set()
        self.holding = threading.Event()
        self.released = threading.Event()
        self.lock = threading.Lock()
        outer = self

        from http.server import BaseHTTPRequestHandler

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status, answer = outer.handle(self.path, dict(self.headers), body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    # set-up
    def wecom(self, key: str) -> str:
        return f"{self.base}/cgi-bin/webhook/send?key={key}"

    def dingtalk(self, token: str, secret: str, keywords: list[str] | None = None) -> str:
        self.secrets[token], self.keywords[token] = secret, keywords or []
        return f"{self.base}/robot/send?access_token={token}"

    def feishu(self, token: str, secret: str) -> str:
        self.secrets[token] = secret
        return f"{self.base}/open-apis/bot/v2/hook/{token}"

    def webhook(self, hook: str, secret: str) -> str:
        self.secrets[hook] = secret
        return f"{self.base}/hooks/{hook}"

    def fail(self, prefix: str, times: int) -> None:
        self.failures[prefix] = times

    def hold(self, prefix: str) -> None:
        self.held.add(prefix)

    def release(self) -> None:
        self.released.set()

    def close(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()

    # checks
    def _limited(self, robot: str) -> bool:
        from datetime import timedelta

        now = self.clock()
        with self.lock:
            recent = [t for t in self.sent_times.get(robot, []) if t > now - timedelta(seconds=60)]
            if len(recent) >= 20:
                return True
            self.sent_times[robot] = [*recent, now]
            return False

    def handle(self, path: str, headers: dict, body: bytes) -> tuple[int, dict]:
        import base64
        import hashlib
        import hmac
        import time as _time
        from urllib.parse import parse_qs, urlsplit

        for prefix in self.held:
            if path.startswith(prefix):
                self.holding.set()
                self.released.wait(30)
        for prefix, left in list(self.failures.items()):
            if path.startswith(prefix) and left > 0:
                self.failures[prefix] = left - 1
                return 500, {"error": "injected"}
        url = urlsplit(path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        payload = json.loads(body)
        if url.path == "/cgi-bin/webhook/send":
            robot = "wecom:" + query.get("key", "")
            content = payload.get("markdown", {}).get("content", "")
            if payload.get("msgtype") != "markdown" or not content or len(content.encode()) > 4096:
                return self._refuse(robot, 200, {"errcode": 40008, "errmsg": "invalid message type"})
            if self._limited(robot):
                return self._refuse(robot, 200, {"errcode": 45009, "errmsg": "api freq out of limit"})
            return self._accept(robot, payload, {"errcode": 0, "errmsg": "ok"})
        if url.path == "/robot/send":
            token = query.get("access_token", "")
            robot, secret = "dingtalk:" + token, self.secrets.get(token, "")
            ts = query.get("timestamp", "0")
            expected = base64.b64encode(hmac.new(secret.encode(), f"{ts}\n{secret}".encode(),
                                                 hashlib.sha256).digest()).decode()
            if abs(int(ts) - _time.time() * 1000) > 3600_000 or query.get("sign") != expected:
                return self._refuse(robot, 200, {"errcode": 310000, "errmsg": "sign not match"})
            md = payload.get("markdown", {})
            if payload.get("msgtype") != "markdown" or not md.get("title") or not md.get("text"):
                return self._refuse(robot, 200, {"errcode": 40035, "errmsg": "missing parameter"})
            words = self.keywords.get(token, [])
            if words and not any(w in md["title"] + md["text"] for w in words):
                return self._refuse(robot, 200, {"errcode": 310000, "errmsg": "keywords not in content"})
            if self._limited(robot):
                return self._refuse(robot, 200, {"errcode": 130101, "errmsg": "send too fast"})
            return self._accept(robot, payload, {"errcode": 0, "errmsg": "ok"})
        if url.path.startswith("/open-apis/bot/v2/hook/"):
            token = url.path.rsplit("/", 1)[1]
            robot, secret = "feishu:" + token, self.secrets.get(token, "")
            ts = payload.get("timestamp", "0")
            expected = base64.b64encode(hmac.new(f"{ts}\n{secret}".encode(), b"", hashlib.sha256).digest()).decode()
            if abs(int(ts) - _time.time()) > 3600 or payload.get("sign") != expected:
                return self._refuse(robot, 200, {"code": 19021, "msg": "sign match fail or timestamp is not within "
                                                                       "one hour from current time"})
            post = payload.get("content", {}).get("post", {}).get("zh_cn", {})
            if payload.get("msg_type") != "post" or not post.get("title") or not post.get("content"):
                return self._refuse(robot, 200, {"code": 9499, "msg": "Bad Request"})
            return self._accept(robot, payload, {"code": 0, "msg": "success"})
        if url.path.startswith("/hooks/"):
            hook = url.path.rsplit("/", 1)[1]
            robot, secret = "webhook:" + hook, self.secrets.get(hook, "")
            expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            if headers.get("X-Shangji-Signature") != expected:
                return self._refuse(robot, 401, {"error": "bad signature"})
            return self._accept(robot, payload, {})
        return 404, {"error": "no such robot"}

    def _accept(self, robot: str, payload: dict, answer: dict) -> tuple[int, dict]:
        with self.lock:
            self.accepted.append((robot, payload))
        return 200, answer

    def _refuse(self, robot: str, status: int, answer: dict) -> tuple[int, dict]:
        with self.lock:
            self.refused.append((robot, json.dumps(answer, ensure_ascii=False)))
        return status, answer

    def messages(self, robot: str) -> list[dict]:
        with self.lock:
            return [p for r, p in self.accepted if r == robot]


@pytest.fixture
def clock():
    """A clock the test moves by hand, starting now."""
    from notify.adapters.in_memory import Clock

    return Clock(datetime.now(UTC))


@pytest.fixture
def robots(clock):
    servers = RobotServers(clock)
    yield servers
    servers.close()


class Mailbox:
    """aiosmtpd's SMTP server, requiring a login, keeping every message it takes."""

    def __init__(self, user: str, password: str, tls_dir=None) -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        self.messages: list = []
        mailbox = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
                import email
                from email import policy

                mailbox.messages.append((envelope.rcpt_tos, email.message_from_bytes(envelope.content,
                                                                                     policy=policy.default)))
                return "250 OK"

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = auth_data.login == user.encode() and auth_data.password == password.encode()
            return AuthResult(success=ok)

        from notify.adapters.channels.email import SmtpConfig
        from shangji_kit.testing.processes import free_port

        port = free_port()
        tls = {}
        ca_file = ""
        if tls_dir is not None:
            # STARTTLS with a certificate of its own; the client trusts it through SHANGJI_SMTP_CA_FILE's setting
            import ssl

            ca_file, key_file = self_signed("127.0.0.1", tls_dir)
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(ca_file, key_file)
            tls = {"tls_context": context, "require_starttls": True}
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=port, authenticator=authenticator,
                                     auth_require_tls=bool(tls), auth_required=True, **tls)
        self.controller.start()
        self.config = SmtpConfig(host="127.0.0.1", port=port, sender="shangji@example.com", user=user,
                                 password=password, timeout_seconds=5, tls="starttls" if tls else "none",
                                 ca_file=ca_file)


def self_signed(host: str, folder) -> tuple[str, str]:
    """A certificate for ``host`` (with its IP as subjectAltName) and its key, as PEM files in ``folder``."""
    import ipaddress
    from datetime import timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "smtp.crt", folder / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


@pytest.fixture
def mailbox():
    box = Mailbox("notify", "s3cret-pw")
    yield box
    box.controller.stop()


@pytest.fixture
def tls_mailbox(tmp_path):
    """The same server requiring STARTTLS before the login, with a certificate only the client's CA file trusts."""
    box = Mailbox("notify", "s3cret-pw", tls_dir=tmp_path)
    yield box
    box.controller.stop()


@pytest.fixture
def rules():
    """The worker's rules, with the retry budget small enough to exhaust in a test."""
    from dataclasses import replace

    from notify.domain.delivery import RetryPolicy

    return replace(bootstrap.rules(), retry=RetryPolicy(max_attempts=3, base_seconds=10))


@pytest.fixture
def uow_factory(shangji_env):
    return bootstrap.uow_factory(Settings.for_service("notify"))


@pytest.fixture
def org(worker):
    """teams' organisation told to the worker (the kit's builder): ``org.department(head=...)``, ``org.user(...)``."""
    from shangji_kit.testing.org import OrgBuilder

    return OrgBuilder(worker)
