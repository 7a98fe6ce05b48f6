"""The backend's own answers, before any service is called: what the console may reach and sign-in rules."""

import json

import pytest
from werkzeug.test import Client

from web.adapters.service_gateway import ServiceGateway
from web.entrypoints.http_api import create_app
from web.http_status import http_status


@pytest.fixture
def client():
    gateway = ServiceGateway(targets={})
    yield Client(create_app(gateway))
    gateway.close()


def error_of(response) -> dict:
    return json.loads(response.get_data(as_text=True))["error"]


def test_an_rpc_outside_the_consoles_list_is_not_found_and_never_called(client):
    response = client.post("/api/rpc/teams/CreateUser", json={"user": {"display_name": "x"}})
    assert response.status_code == 404
    assert error_of(response)["reason"] == "UNKNOWN_RPC"


def test_a_body_that_is_not_the_request_message_is_invalid_argument(client):
    response = client.post("/api/rpc/opportunities/ListOpportunities", json={"page_size": "many"})
    assert response.status_code == 400
    assert (error_of(response)["code"], error_of(response)["reason"]) == ("INVALID_ARGUMENT", "MALFORMED_BODY")
    response = client.post("/api/rpc/opportunities/ListOpportunities", data="[1", content_type="application/json")
    assert response.status_code == 400


def test_dev_sign_in_names_the_bad_field(client):
    response = client.post("/api/dev/sign-in", json={"user": "李娜"})
    assert response.status_code == 400
    assert error_of(response)["fields"] == ["user"]


def test_dev_sign_in_does_not_exist_outside_development(client, monkeypatch):
    monkeypatch.setenv("SHANGJI_ENV", "production")
    assert json.loads(client.get("/api/config").get_data(as_text=True))["dev_sign_in"] is False
    response = client.post("/api/dev/sign-in", json={"user": "users/2b1f6a8e-0d5c-4c1e-9a51-6f7c1f0e9b11"})
    assert response.status_code == 404
    assert error_of(response)["reason"] == "DEV_SIGN_IN_DISABLED"


def test_who_am_i_without_a_token_is_unauthenticated(client):
    response = client.get("/api/me")
    assert response.status_code == 401


def test_the_front_end_and_its_chart_library_are_served_locally(client):
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="zh-CN">' in page and "/static/vendor/echarts.min.js" in page and "http" not in page.split(
        "<body>")[0].replace('http-equiv', '')
    assert client.get("/static/vendor/echarts.min.js").status_code == 200
    assert client.get("/static/app.js").status_code == 200


@pytest.mark.parametrize(("code", "status"), [("FAILED_PRECONDITION", 400), ("PERMISSION_DENIED", 403),
                                               ("ABORTED", 409), ("UNAVAILABLE", 503), ("INTERNAL", 500)])
def test_grpc_codes_map_to_the_transcoding_statuses(code, status):
    assert http_status(code) == status


def test_an_api_this_build_has_no_protos_for_is_unimplemented(client, monkeypatch):
    from web.adapters import console_rpcs

    monkeypatch.setitem(console_rpcs.CONSOLE_APIS, "future", console_rpcs.ConsoleApi(
        "opportunities", "shangji.opportunities.v9.future_pb2", "shangji.opportunities.v9.FutureService",
        frozenset({"GetFuture"})))
    response = client.post("/api/rpc/future/GetFuture", json={})
    assert response.status_code == 501
    assert error_of(response)["reason"] == "API_NOT_AVAILABLE"
