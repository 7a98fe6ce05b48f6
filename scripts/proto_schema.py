"""JSON Schema for proto messages as their proto3 JSON mapping writes them (camelCase names,
64-bit integers as strings, enums by name, well-known types as their JSON forms), for the
AsyncAPI and OpenAPI documents. Every message becomes one schema named by its full name; fields
refer to other messages with ``$ref``. No field is required (proto3 JSON leaves out default values) and
none is forbidden (a newer producer may add fields; readers ignore what they do not know).
"""

from __future__ import annotations

from google.protobuf.descriptor_pb2 import FieldDescriptorProto as F

from scripts.descriptors import Index

INT64 = {F.TYPE_INT64, F.TYPE_UINT64, F.TYPE_SINT64, F.TYPE_FIXED64, F.TYPE_SFIXED64}
INT32 = {F.TYPE_INT32, F.TYPE_UINT32, F.TYPE_SINT32, F.TYPE_FIXED32, F.TYPE_SFIXED32}
WELL_KNOWN = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Duration": {"type": "string", "pattern": r"^-?\d+(\.\d+)?s$"},
    "google.protobuf.FieldMask": {"type": "string"},
    "google.protobuf.Struct": {"type": "object"},
    "google.protobuf.Value": {},
    "google.protobuf.ListValue": {"type": "array"},
    "google.protobuf.Empty": {"type": "object"},
    "google.protobuf.Any": {"type": "object", "properties": {"@type": {"type": "string"}}},
    "google.protobuf.StringValue": {"type": "string"},
    "google.protobuf.BoolValue": {"type": "boolean"},
    "google.protobuf.Int32Value": {"type": "integer"},
    "google.protobuf.UInt32Value": {"type": "integer"},
    "google.protobuf.Int64Value": {"type": "string", "pattern": r"^-?\d+$"},
    "google.protobuf.UInt64Value": {"type": "string", "pattern": r"^\d+$"},
    "google.protobuf.DoubleValue": {"type": "number"},
    "google.protobuf.FloatValue": {"type": "number"},
    "google.protobuf.BytesValue": {"type": "string", "contentEncoding": "base64"},
}


class SchemaSet:
    """Collects the schemas reachable from the messages asked for; ``ref`` is how one is named."""

    def __init__(self, idx: Index, ref_prefix: str) -> None:
        self.idx = idx
        self.ref_prefix = ref_prefix
        self.schemas: dict[str, dict] = {}

    def ref(self, full_name: str) -> dict:
        if full_name in WELL_KNOWN:
            return dict(WELL_KNOWN[full_name])
        self.add(full_name)
        return {"$ref": f"{self.ref_prefix}{full_name}"}

    def add(self, full_name: str) -> None:
        if full_name in self.schemas or full_name in WELL_KNOWN:
            return
        msg = self.idx.messages[full_name]
        schema: dict = {"type": "object"}
        self.schemas[full_name] = schema  # before the fields: a message may refer to itself
        if (full_name,) in self.idx.comments:
            schema["description"] = self.idx.comments[(full_name,)]
        properties = {}
        for field in msg.field:
            prop = self.field_schema(field)
            if (full_name, field.name) in self.idx.comments:
                prop = {**prop, "description": self.idx.comments[(full_name, field.name)]}
            properties[field.json_name] = prop
        if properties:
            schema["properties"] = properties

    def field_schema(self, field: F) -> dict:
        if field.type == F.TYPE_MESSAGE:
            entry = self.idx.messages.get(field.type_name.lstrip("."))
            if entry is not None and entry.options.map_entry:
                return {"type": "object", "additionalProperties": self.scalar_or_ref(entry.field[1])}
        one = self.scalar_or_ref(field)
        if field.label == F.LABEL_REPEATED:
            return {"type": "array", "items": one}
        return one

    def scalar_or_ref(self, field: F) -> dict:
        t = field.type
        if t == F.TYPE_MESSAGE:
            return self.ref(field.type_name.lstrip("."))
        if t == F.TYPE_ENUM:
            enum = self.idx.enums[field.type_name.lstrip(".")]
            return {"type": "string", "enum": [v.name for v in enum.value]}
        if t == F.TYPE_STRING:
            return {"type": "string"}
        if t == F.TYPE_BYTES:
            return {"type": "string", "contentEncoding": "base64"}
        if t == F.TYPE_BOOL:
            return {"type": "boolean"}
        if t in INT32:
            return {"type": "integer", "format": "int32"}
        if t in INT64:
            return {"type": "string", "pattern": r"^-?\d+$", "format": "int64"}
        return {"type": "number"}
