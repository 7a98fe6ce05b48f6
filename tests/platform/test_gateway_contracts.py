"""What a gateway needs: the descriptor set, an OpenAPI document built from the google.api.http annotations
(in step with the protos, valid), and an Envoy configuration Envoy's own API types accept."""

import copy
import importlib
import re
from pathlib import Path

import pytest
import yaml
from envoy_data_plane.envoy.config.bootstrap.v3 import Bootstrap
from google.api import annotations_pb2
from openapi_spec_validator import validate as validate_openapi
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from scripts import descriptors, openapi
from shangji_kit import settings

ROOT = Path(__file__).resolve().parents[2]
ENVOY = ROOT / "deploy" / "envoy" / "envoy.yaml"


@pytest.fixture(scope="module")
def descriptor_set():
    return descriptors.load(descriptors.build())


@pytest.fixture(scope="module")
def spec() -> dict:
    return yaml.safe_load(openapi.OUT.read_text())


def services(fds) -> dict[str, list]:
    return {f"{f.package}.{s.name}": list(s.method) for f in fds.file if f.name.startswith("shangji/")
            for s in f.service}


def test_the_descriptor_set_holds_every_api_with_its_http_bindings(descriptor_set):
    found = services(descriptor_set)
    assert {name.split(".")[1] for name in found} == set(settings.SERVICES)
    bound = [m for methods in found.values() for m in methods
             if m.options.Extensions[annotations_pb2.http].ListFields()]
    assert len(bound) > 100
    names = {f.name for f in descriptor_set.file}
    assert {"google/api/annotations.proto", "google/api/http.proto", "google/protobuf/timestamp.proto"} <= names


def test_the_committed_openapi_document_is_what_the_protos_give():
    assert openapi.main(["--check"]) == 0, "run: python -m scripts.openapi"


def test_the_openapi_document_is_valid_and_covers_every_bound_rpc(spec, descriptor_set):
    validate_openapi(spec)
    operations = {op["operationId"] for item in spec["paths"].values() for op in item.values()}
    want = {f"{name.rsplit('.', 1)[1]}_{m.name}" for name, methods in services(descriptor_set).items()
            for m in methods if m.options.Extensions[annotations_pb2.http].WhichOneof("pattern")
            and not m.client_streaming}
    assert operations == want
    convert = spec["paths"]["/v1/leads/{leadsId}:convert"]["post"]
    assert convert["operationId"] == "LeadsService_ConvertLead"
    assert convert["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/shangji.leads.v1.ConvertLeadRequest"}


def test_the_validator_refuses_a_broken_document(spec):
    """The same checks on a small piece of the document: a dangling $ref and a parameter in the body."""
    convert = copy.deepcopy(spec["paths"]["/v1/leads/{leadsId}:convert"])
    small = {**{k: spec[k] for k in ("openapi", "info")}, "paths": {"/v1/leads/{leadsId}:convert": convert},
             "components": {"schemas": {}, "securitySchemes": spec["components"]["securitySchemes"]}}
    with pytest.raises(Exception, match="ConvertLeadRequest"):  # its schemas are not in this piece
        validate_openapi(small)
    convert["post"]["requestBody"]["content"]["application/json"]["schema"] = {"type": "object"}
    convert["post"]["responses"] = {"200": {"description": "OK"}}
    validate_openapi(small)
    convert["post"]["parameters"][0]["in"] = "body"
    with pytest.raises(OpenAPIValidationError):
        validate_openapi(small)


def envoy_bootstrap(text: str) -> Bootstrap:
    """Parse with Envoy's API types (envoy-data-plane): unknown fields and wrong types are refused."""
    for url in set(re.findall(r"type\.googleapis\.com/([\w.]+)", text)):
        importlib.import_module("envoy_data_plane." + url.rsplit(".", 1)[0])  # registers the typed configs
    return Bootstrap.from_dict(yaml.safe_load(text))


def test_envoys_api_accepts_the_example_gateway():
    envoy_bootstrap(ENVOY.read_text())


@pytest.mark.parametrize("typo", ["convert_grpc_statuss", "lb_policyy", "forwardd"])
def test_envoys_api_refuses_a_misspelt_field(typo):
    with pytest.raises(KeyError, match=typo):
        envoy_bootstrap(ENVOY.read_text().replace(typo[:-1] + ":", typo + ":"))


def test_the_gateway_transcodes_every_api_to_its_fronts_headless_service(descriptor_set):
    config = yaml.safe_load(ENVOY.read_text())
    (hcm,) = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"]
    filters = {f["name"]: f["typed_config"] for f in hcm["typed_config"]["http_filters"]}
    assert list(filters)[-1] == "envoy.filters.http.router"
    transcoder = filters["envoy.filters.http.grpc_json_transcoder"]
    assert set(transcoder["services"]) == set(services(descriptor_set))
    assert transcoder["proto_descriptor"].endswith(descriptors.OUT.name)
    jwt = filters["envoy.filters.http.jwt_authn"]
    assert all(p["forward"] for p in jwt["providers"].values()), "the fronts read the token too"
    routes = {r["match"]["prefix"]: r["route"]["cluster"]
              for r in hcm["typed_config"]["route_config"]["virtual_hosts"][0]["routes"]}
    clusters = {c["name"]: c for c in config["static_resources"]["clusters"]}
    for full_name in services(descriptor_set):
        service = full_name.split(".")[1]
        assert routes.get(f"/{full_name}/") == service, f"{full_name} is not routed to {service}'s front"
    for service in settings.SERVICES:
        cluster = clusters[service]
        (endpoint,) = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"]
        address = endpoint["endpoint"]["address"]["socket_address"]
        assert (address["address"], address["port_value"]) == (f"{service.replace('_', '-')}-headless",
                                                                settings.GRPC_PORTS[service])
        assert "http2_protocol_options" in str(cluster["typed_extension_protocol_options"])
