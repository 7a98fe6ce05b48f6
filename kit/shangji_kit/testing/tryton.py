"""A real Tryton 8.2 server for tests, benchmarks and the demo.

``trytond-admin`` takes 20-80 s to build a database with sale and analytic_sale, so it runs once into a
template database named after a hash of (trytond's version, the modules, this file); the one-time business
set-up (company, currencies, cost-centre root, products, the bridge's user) runs in the template too. Each
test session clones it (``CREATE DATABASE ... TEMPLATE``, tens of ms) and starts its own server on a free
port. Templates are kept across sessions like the services' (``shangji_kit.testing.databases``).

The server is trytond's WSGI application in N processes sharing one listening socket (werkzeug, threaded,
``fd=``), because ``trytond`` itself serves from a single process. With several processes the config sets
``[cache] clean_timeout = 0`` so every process sees cache invalidations at once.

Command line (the demo uses it):
    python -m shangji_kit.testing.tryton serve [--database shangji_erp] [--port 8000] [--processes 2]
creates the database from the template when missing, serves until SIGTERM, and prints the settings the
erp_bridge reads (SHANGJI_ERP_*).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

from shangji_kit import settings
from shangji_kit.db import libpq_dsn

MODULES = ("sale", "analytic_sale")
ADMIN_LOGIN = "admin"
ADMIN_PASSWORD = "shangji-tryton-admin-pw"
BRIDGE_LOGIN = "shangji_bridge"
BRIDGE_PASSWORD = "shangji-bridge-dev-pw-8f3a"
ADMIN_EMAIL = "erp-admin@example.com"
COMPANY_NAME = "尚吉演示有限公司"
COST_CENTRE_ROOT_CODE = "COST_CENTRES"
# ERP product codes the template holds: the bridge's product mapping points our codes at these.
PRODUCTS = {
    "TRY-SAMPLE-A": ("Sample kit A", "120.00"),
    "TRY-SAMPLE-B": ("Sample kit B", "80.00"),
    "TRY-GEARBOX-100": ("Gearbox 100", "5000.00"),
    "TRY-SENSOR-7": ("Sensor 7", "350.00"),
}
STATE_DIR = Path(tempfile.gettempdir()) / "shangji-tryton"


@dataclass(frozen=True)
class TrytonInfo:
    """What a client needs: base URL (JSON-RPC is ``{url}/{database}/rpc/``), database, the bridge's login."""

    url: str
    database: str
    user: str
    password: str

    def environment(self) -> dict[str, str]:
        return {"SHANGJI_ERP_URL": self.url, "SHANGJI_ERP_DATABASE": self.database,
                "SHANGJI_ERP_USER": self.user, "SHANGJI_ERP_PASSWORD": self.password}


def _server_uri() -> str:
    """trytond's ``[database] uri``: the server DSN without a database name."""
    parts = urlsplit(settings.server_dsn())
    return f"postgresql://{parts.netloc}/"


def config_file() -> Path:
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    # one file per PostgreSQL server, so sessions pointed at different servers never rewrite each other's
    path = STATE_DIR / f"trytond-{hashlib.sha256(_server_uri().encode()).hexdigest()[:8]}.conf"
    text = (
        "[database]\n"
        f"uri = {_server_uri()}\n"
        f"path = {STATE_DIR / 'filestore'}\n"
        # each process's pool: several processes and test sessions share one PostgreSQL
        "maxconn = 16\n"
        "[cache]\n"
        "clean_timeout = 0\n"
        "[session]\n"
        "max_attempt = 100000\n"
        "[password]\n"
        "length = 8\n"
    )
    if not path.exists() or path.read_text() != text:
        tmp = path.with_suffix(f".{os.getpid()}")
        tmp.write_text(text)
        tmp.replace(path)
    return path


def _admin_conn() -> psycopg.Connection:
    return psycopg.connect(libpq_dsn(settings.with_database(settings.server_dsn(), "postgres")), autocommit=True)


def template_hash() -> str:
    """What the template's content depends on: trytond's version, the modules and the set-up (code and data),
    not the server code around it."""
    import inspect

    import trytond

    h = hashlib.sha256()
    h.update(trytond.__version__.encode())
    h.update(" ".join(MODULES).encode())
    h.update(inspect.getsource(_setup).encode())
    h.update(repr((ADMIN_LOGIN, ADMIN_PASSWORD, BRIDGE_LOGIN, BRIDGE_PASSWORD, ADMIN_EMAIL, COMPANY_NAME,
                   COST_CENTRE_ROOT_CODE, sorted(PRODUCTS.items()))).encode())
    return h.hexdigest()[:12]


def template_name() -> str:
    return f"shangji_tpl_tryton_{template_hash()}"


def _run(cmd: list[str], env: dict[str, str] | None = None) -> None:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])} failed ({done.returncode}):\n{done.stdout[-3000:]}\n"
                           f"{done.stderr[-3000:]}")


def ensure_template() -> str:
    """The initialised, set-up template database (built now if missing)."""
    name = template_name()
    with _admin_conn() as conn:
        # concurrent sessions wait for one build instead of racing
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (name,))
        try:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                building = name + "_build"
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(building)))
                conn.execute(sql.SQL("CREATE DATABASE {} ENCODING 'UTF8' TEMPLATE template0").format(
                    sql.Identifier(building)))
                conf = str(config_file())
                passfile = STATE_DIR / "admin.pass"
                passfile.write_text(ADMIN_PASSWORD + "\n")
                env = dict(os.environ, TRYTONPASSFILE=str(passfile))
                admin = str(Path(sys.executable).parent / "trytond-admin")
                _run([admin, "-c", conf, "-d", building, "--all", "-u", *MODULES, "--activate-dependencies",
                      "--email", ADMIN_EMAIL], env)
                _run([sys.executable, "-m", "shangji_kit.testing.tryton", "_setup", "--database", building])
                conn.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                    sql.Identifier(building), sql.Identifier(name)))
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (name,))
    return name


def create_database(name: str, *, replace: bool = True) -> bool:
    """``name`` cloned from the template; True when created. ``replace=False`` keeps an existing one."""
    template = ensure_template()
    with _admin_conn() as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists and not replace:
            return False
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template)))
    return True


def drop_database(name: str) -> None:
    with _admin_conn() as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TrytonServer:
    """trytond's WSGI app in ``processes`` processes on one socket. ``stop`` closes the socket too, so the
    ERP is really down (connections refused) until ``start``; the port stays the same."""

    def __init__(self, database: str, *, port: int | None = None, processes: int = 1,
                 log_path: Path | None = None) -> None:
        self.database = database
        self.port = port or _free_port()
        self.processes = processes
        self.log_path = log_path or STATE_DIR / f"{database}.log"
        self._socket: socket.socket | None = None
        self._children: list[subprocess.Popen] = []

    @property
    def info(self) -> TrytonInfo:
        return TrytonInfo(url=self.url, database=self.database, user=self.user, password=self.password)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    user = BRIDGE_LOGIN
    password = BRIDGE_PASSWORD

    def environment(self) -> dict[str, str]:
        """The SHANGJI_ERP_* settings that point the erp_bridge at this server."""
        return self.info.environment()

    @property
    def running(self) -> bool:
        return bool(self._children) and all(c.poll() is None for c in self._children)

    def start(self, timeout: float = 60.0) -> TrytonServer:
        conf = str(config_file())
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(128)
        sock.set_inheritable(True)
        self._socket = sock
        log = open(self.log_path, "ab")
        for _ in range(self.processes):
            self._children.append(subprocess.Popen(
                [sys.executable, "-m", "shangji_kit.testing.tryton", "_child", "--config", conf,
                 "--database", self.database, "--fd", str(sock.fileno())],
                pass_fds=(sock.fileno(),), stdout=log, stderr=subprocess.STDOUT))
        log.close()
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float) -> None:
        """The server answers as many logins as it has processes. Each process loads its pool before it accepts,
        so the first answer means the database is served; the rest warm the sessions table."""
        import requests

        deadline = time.monotonic() + timeout
        body = {"id": 0, "method": "common.db.login",
                "params": [BRIDGE_LOGIN, {"password": BRIDGE_PASSWORD}, "en"]}
        answered = 0
        while time.monotonic() < deadline:
            dead = [c for c in self._children if c.poll() is not None]
            if dead:
                raise RuntimeError(f"trytond exited: {self.log_path.read_text(errors='replace')[-3000:]}")
            try:
                reply = requests.post(f"{self.info.url}/{self.database}/rpc/", json=body, timeout=30).json()
                if "result" in reply:
                    answered += 1
                    if answered >= self.processes:
                        return
                    continue
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"trytond not ready after {timeout}s: {self.log_path.read_text(errors='replace')[-3000:]}")

    def stop(self) -> None:
        for child in self._children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in self._children:
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait(5)
        self._children = []
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def __enter__(self) -> TrytonServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- child processes ------------------------------------------------------------------------------------

def _exit_with_parent(parent: int) -> None:
    """A test session killed hard must not leave servers holding its database."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def _serve_child(config: str, database: str, fd: int) -> None:
    from trytond import config as tryton_config

    tryton_config.update_etc(config)
    from trytond.pool import Pool

    Pool.start()
    Pool(database).init()
    from trytond.wsgi import app
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True, fd=fd)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    server.serve_forever()


def _setup(database: str) -> None:
    """The one-time business set-up, inside the template: what confirming a sale needs."""
    from decimal import Decimal

    from trytond import config as tryton_config

    tryton_config.update_etc(str(config_file()))
    from trytond.pool import Pool
    from trytond.transaction import Transaction

    Pool.start()
    pool = Pool(database)
    pool.init()
    with Transaction().start(database, 0, context={"language": "en"}) as transaction:
        Currency = pool.get("currency.currency")
        Rate = pool.get("currency.currency.rate")
        Party = pool.get("party.party")
        Company = pool.get("company.company")
        User = pool.get("res.user")
        Analytic = pool.get("analytic_account.account")
        Uom = pool.get("product.uom")
        Template = pool.get("product.template")
        SaleConfig = pool.get("sale.configuration")
        import datetime

        currencies = {}
        for code, name, symbol, rate in (("CNY", "Chinese Yuan", "¥", "1"), ("USD", "US Dollar", "$", "0.14"),
                                         ("EUR", "Euro", "€", "0.13")):
            existing = Currency.search([("code", "=", code)])
            currency = existing[0] if existing else Currency.create([{"name": name, "code": code,
                                                                       "symbol": symbol}])[0]
            Rate.create([{"currency": currency.id, "date": datetime.date(2000, 1, 1), "rate": Decimal(rate)}])
            currencies[code] = currency
        party, = Party.create([{"name": COMPANY_NAME}])
        company, = Company.create([{"party": party.id, "currency": currencies["CNY"].id}])
        admin, = User.search([("login", "=", ADMIN_LOGIN)])
        User.write([admin], {"companies": [("add", [company.id])], "company": company.id})
        User.create([{"name": "Shangji erp_bridge", "login": BRIDGE_LOGIN, "password": BRIDGE_PASSWORD,
                      "administrator": True,
                      "companies": [("add", [company.id])], "company": company.id}])
    # the sale configuration is a singleton whose first write locks its table: lock it from the start
    with Transaction().start(database, 0, context={"language": "en", "company": company.id},
                             _lock_tables=[SaleConfig._table]) as transaction:
        Analytic.create([{"name": "Cost centres (sales departments)", "code": COST_CENTRE_ROOT_CODE,
                          "type": "root", "company": company.id}])
        unit, = Uom.search([("symbol", "=", "u")], limit=1)
        for code, (name, price) in PRODUCTS.items():
            Template.create([{"name": name, "type": "goods", "default_uom": unit.id, "salable": True,
                              "sale_uom": unit.id, "list_price": Decimal(price),
                              "products": [("create", [{"suffix_code": code}])]}])
        # Samples and won deals are invoiced outside this flow: processing a confirmed sale makes its
        # customer shipment only, so no chart of accounts or fiscal year is needed.
        config = SaleConfig(1)
        config.sale_invoice_method = "manual"
        config.sale_shipment_method = "order"
        config.save()
        transaction.commit()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shangji_kit.testing.tryton")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="create the database from the template if missing and serve it")
    serve.add_argument("--database", default="shangji_erp")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--processes", type=int, default=2)
    serve.add_argument("--fresh", action="store_true", help="re-create the database from the template")
    sub.add_parser("template", help="build the template database (if missing) and print its name")
    child = sub.add_parser("_child")
    child.add_argument("--config", required=True)
    child.add_argument("--database", required=True)
    child.add_argument("--fd", type=int, required=True)
    setup = sub.add_parser("_setup")
    setup.add_argument("--database", required=True)
    args = parser.parse_args(argv)
    if args.command == "_child":
        _serve_child(args.config, args.database, args.fd)
    elif args.command == "_setup":
        _setup(args.database)
    elif args.command == "template":
        print(ensure_template())
    else:
        create_database(args.database, replace=args.fresh)
        server = TrytonServer(args.database, port=args.port, processes=args.processes)
        stopping: list[int] = []
        signal.signal(signal.SIGTERM, lambda signum, frame: stopping.append(signum))
        signal.signal(signal.SIGINT, lambda signum, frame: stopping.append(signum))
        server.start()
        print(json.dumps(server.info.environment()), flush=True)
        while not stopping:
            time.sleep(0.5)
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
