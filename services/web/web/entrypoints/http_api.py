"""The console's HTTP backend: static front end, sign-in, and one JSON route per allowed RPC.

Routes
- ``GET /``, ``/static/...``: the front end (plain ES modules; echarts vendored by ``make webassets``).
- ``GET /api/config``: whether development sign-in is offered.
- ``POST /api/dev/sign-in`` ``{"user": "users/{id}"}``: a development token and the user (development only).
- ``GET /api/me``: the signed-in user, read from teams with their token.
- ``POST /api/rpc/{service}/{Method}``: the RPC with the JSON body as its request, the caller's
  ``Authorization`` header passed through; the answer is the response message as JSON (proto field
  names), a refusal is ``{"error": {code, message, reason, fields, preconditions}}`` with the HTTP
  status google.api's transcoding uses.
- ``GET /healthz``.
"""

from __future__ import annotations

import json
from pathlib import Path

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.middleware.shared_data import SharedDataMiddleware
from werkzeug.routing import Map, Rule
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from shangji_kit import log, settings
from web import sign_in
from web.adapters.service_gateway import RpcFailure, ServiceGateway
from web.http_status import http_status

STATIC = Path(__file__).resolve().parent.parent / "static"

ROUTES = Map([
    Rule("/", endpoint="index"),
    Rule("/healthz", endpoint="health"),
    Rule("/api/config", endpoint="config"),
    Rule("/api/dev/sign-in", endpoint="dev_sign_in", methods=["POST"]),
    Rule("/api/me", endpoint="me"),
    Rule("/api/rpc/<service>/<method>", endpoint="rpc", methods=["POST"]),
])


def _json(body: dict, status: int = 200) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/json",
                    headers={"Cache-Control": "no-store"})


def _failure(failure: RpcFailure) -> Response:
    return _json({"error": failure.as_json()}, http_status(failure.code))


def _body(request: Request) -> dict:
    try:
        body = json.loads(request.get_data(as_text=True) or "{}")
    except ValueError as exc:
        raise RpcFailure("INVALID_ARGUMENT", "the body is not JSON", reason="MALFORMED_BODY") from exc
    if not isinstance(body, dict):
        raise RpcFailure("INVALID_ARGUMENT", "the body must be a JSON object", reason="MALFORMED_BODY")
    return body


class ConsoleApp:
    """A WSGI application over a ``ServiceGateway``."""

    def __init__(self, gateway: ServiceGateway) -> None:
        self.gateway = gateway

    def index(self, request: Request) -> Response:
        return Response((STATIC / "index.html").read_bytes(), mimetype="text/html",
                        headers={"Cache-Control": "no-store"})

    def health(self, request: Request) -> Response:
        return Response("ok", mimetype="text/plain")

    def config(self, request: Request) -> Response:
        return _json({"environment": settings.environment(), "dev_sign_in": sign_in.dev_sign_in_enabled()})

    def dev_sign_in(self, request: Request) -> Response:
        token = sign_in.dev_token(str(_body(request).get("user", "")))
        authorization = f"Bearer {token}"
        user = self.gateway.call("teams", "GetUser", {"name": sign_in.user_name_of(authorization)}, authorization)
        return _json({"token": token, "user": user})

    def me(self, request: Request) -> Response:
        authorization = request.headers.get("Authorization")
        name = sign_in.user_name_of(authorization)
        return _json({"user": self.gateway.call("teams", "GetUser", {"name": name}, authorization)})

    def rpc(self, request: Request, service: str, method: str) -> Response:
        return _json(self.gateway.call(service, method, _body(request), request.headers.get("Authorization")))

    def __call__(self, environ, start_response):
        request = Request(environ)
        try:
            endpoint, args = ROUTES.bind_to_environ(environ).match()
            response = getattr(self, endpoint)(request, **args)
        except RpcFailure as failure:
            response = _failure(failure)
        except NotFound:
            response = _failure(RpcFailure("NOT_FOUND", f"no such page: {request.path}"))
        except HTTPException as exc:
            response = exc
        return response(environ, start_response)


def create_app(gateway: ServiceGateway | None = None):
    return SharedDataMiddleware(ConsoleApp(gateway or ServiceGateway()), {"/static": str(STATIC)},
                                cache_timeout=0)


def serve(host: str, port: int, gateway: ServiceGateway | None = None):
    """A threaded HTTP server (one thread per request: each blocks on a gRPC call); call ``serve_forever``."""
    return make_server(host, port, create_app(gateway), threaded=True)


def main() -> None:
    log.configure("web", settings.env("SHANGJI_LOG_LEVEL", "INFO"))
    host, port = settings.web_address()
    server = serve(host, port)
    log.get("web").info("web console on http://%s:%d/", host, port)
    server.serve_forever()


if __name__ == "__main__":
    main()
