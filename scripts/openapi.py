"""docs/api/openapi.yaml: the JSON/REST face of every gRPC API, as a gateway transcodes it from the
`google.api.http` annotations (Envoy's grpc_json_transcoder, deploy/envoy/envoy.yaml). Generated from
the descriptor set: `python -m scripts.openapi` writes it, `--check` fails when it is out of date.

Mapping (as the transcoders apply it): a path variable `{name=leads/*}` is the request field `name`,
written as its literal segments with a parameter for each `*` (`/v1/leads/{leadsId}`: the gateway
rebuilds `name` = `leads/<leadsId>`); `body: "*"` sends the request message (less the path fields),
`body: "<field>"` that field; every other scalar field of a GET or DELETE request is a query parameter.
Client-streaming RPCs cannot be transcoded and are left out; RPCs without an annotation are too.
"""

from __future__ import annotations

import re
import sys

from google.api import annotations_pb2
from google.protobuf.descriptor_pb2 import FieldDescriptorProto as F

from scripts import descriptors, generated_file
from scripts.build_protos import ROOT
from scripts.proto_schema import SchemaSet

OUT = ROOT / "docs" / "api" / "openapi.yaml"
# google.rpc.Status in proto3 JSON (no proto of ours imports status.proto, so it is written out here).
STATUS = {"type": "object", "properties": {
    "code": {"type": "integer", "format": "int32", "description": "google.rpc.Code"},
    "message": {"type": "string"},
    "details": {"type": "array", "items": {"type": "object", "properties": {"@type": {"type": "string"}},
                                           "required": ["@type"]}}}}
VARIABLE = re.compile(r"\{([\w.]+)(?:=([^}]*))?\}")


def openapi_path(template: str) -> tuple[str, list[str], list[tuple[str, str]]]:
    """`/v1/{name=leads/*}:convert` -> (`/v1/leads/{leadsId}:convert`, ["name"], [("leadsId", "name")]).

    Each `*` becomes a parameter named after the collection before it, so the GET and PATCH of one
    resource (`{name=...}`, `{lead.name=...}`) share one OpenAPI path.
    """
    fields: list[str] = []
    params: list[tuple[str, str]] = []

    def expand(m: re.Match) -> str:
        field, pattern = m.group(1), m.group(2) or "*"
        fields.append(field)
        segments = pattern.split("/")
        out = []
        for i, segment in enumerate(segments):
            if segment in ("*", "**"):
                param = f"{segments[i - 1]}Id" if i else field.replace(".", "_")
                params.append((param, field))
                out.append("{" + param + "}")
            else:
                out.append(segment)
        return "/".join(out)

    return VARIABLE.sub(expand, template), fields, params


def field_of(idx: descriptors.Index, message: str, dotted: str):
    msg = idx.messages[message]
    head, _, rest = dotted.partition(".")
    (field,) = [f for f in msg.field if f.name == head]
    if rest:
        return field_of(idx, field.type_name.lstrip("."), rest)
    return field


def document() -> dict:
    idx = descriptors.index(descriptors.load(descriptors.build()))
    schemas = SchemaSet(idx, "#/components/schemas/")
    paths: dict = {}
    for name, f in sorted(idx.files.items()):
        if not name.startswith("shangji/"):
            continue
        for service in f.service:
            tag = f"{f.package}.{service.name}"
            for method in service.method:
                rule = method.options.Extensions[annotations_pb2.http]
                verb = rule.WhichOneof("pattern")
                if verb is None or verb == "custom" or method.client_streaming:
                    continue
                request = method.input_type.lstrip(".")
                path, path_fields, path_params = openapi_path(getattr(rule, verb))
                operation: dict = {
                    "operationId": f"{service.name}_{method.name}",
                    "tags": [tag],
                    "summary": f"{tag}.{method.name}",
                    "parameters": [],
                    "responses": {
                        "200": {"description": "OK", "content": {"application/json": {
                            "schema": schemas.ref(method.output_type.lstrip("."))}}},
                        "default": {"description": "An error: google.rpc.Status with details (ErrorInfo, "
                                                   "BadRequest) in proto3 JSON.",
                                    "content": {"application/json": {"schema": {
                                        "$ref": "#/components/schemas/google.rpc.Status"}}}},
                    },
                    "security": [{"bearer": []}],
                }
                if method.server_streaming:
                    operation["description"] = "Server streaming: the gateway answers with a JSON array of messages."
                for param, field in path_params:
                    operation["parameters"].append({
                        "name": param, "in": "path", "required": True, "schema": {"type": "string"},
                        "description": f"a segment of the request field `{field}`"})
                if rule.body == "*":
                    operation["requestBody"] = {"required": True, "content": {"application/json": {
                        "schema": schemas.ref(request)}}}
                elif rule.body:
                    body_field = field_of(idx, request, rule.body)
                    operation["requestBody"] = {"required": True, "content": {"application/json": {
                        "schema": schemas.field_schema(body_field)}}}
                else:
                    for field in idx.messages[request].field:
                        if field.name in path_fields or field.type == F.TYPE_MESSAGE:
                            continue
                        operation["parameters"].append({"name": field.json_name, "in": "query",
                                                        "schema": schemas.field_schema(field)})
                if not operation["parameters"]:
                    del operation["parameters"]
                if verb in paths.get(path, {}):
                    raise ValueError(f"{verb.upper()} {path} is bound twice ({tag}.{method.name})")
                paths.setdefault(path, {})[verb] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Shangji APIs (JSON transcoding)",
            "version": "1.0.0",
            "description": ("Every gRPC API of the suite as a gateway transcodes it from the google.api.http "
                            "annotations. Generated by `python -m scripts.openapi` from protos/; do not edit. "
                            "Authenticate with `Authorization: Bearer <JWT>`."),
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "servers": [{"url": "http://localhost:8080", "description": "the example gateway (deploy/envoy/envoy.yaml)"}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted({**schemas.schemas, "google.rpc.Status": STATUS}.items())),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


def render() -> str:
    return generated_file.as_yaml("Generated by `python -m scripts.openapi` from protos/.", document())


def main(argv: list[str] | None = None) -> int:
    return generated_file.main(OUT, render, "python -m scripts.openapi", argv)


if __name__ == "__main__":
    sys.exit(main())
