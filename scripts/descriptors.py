"""The contracts as a protobuf descriptor set, with comments (``make protos`` builds it).

``build/descriptors/shangji.binpb`` is what a gateway needs to transcode JSON (Envoy's
grpc_json_transcoder reads it) and what the AsyncAPI and OpenAPI generators read: every file in
protos/shangji and its imports, with source info so comments become descriptions.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from google.protobuf import descriptor_pb2

from scripts.build_protos import PROTOS, ROOT, include_dirs, source_hash, sources

OUT = ROOT / "build" / "descriptors" / "shangji.binpb"


def build(out: Path = OUT) -> Path:
    """(Re)build the set when a proto changed since the last build (hash stamp beside it)."""
    stamp = out.with_suffix(".source-hash")
    digest = source_hash()
    if out.is_file() and stamp.is_file() and stamp.read_text() == digest:
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    args = [sys.executable, "-m", "grpc_tools.protoc", *[f"-I{d}" for d in include_dirs()],
            "--include_imports", "--include_source_info", f"--descriptor_set_out={out}",
            *[str(p.relative_to(PROTOS)) for p in sources()]]
    subprocess.run(args, check=True, cwd=PROTOS)
    stamp.write_text(digest)
    return out


def load(path: Path = OUT) -> descriptor_pb2.FileDescriptorSet:
    return descriptor_pb2.FileDescriptorSet.FromString(path.read_bytes())


@dataclass(frozen=True)
class Index:
    """Every message and enum of a descriptor set by full name, with its comment."""

    messages: dict[str, descriptor_pb2.DescriptorProto]
    enums: dict[str, descriptor_pb2.EnumDescriptorProto]
    comments: dict[tuple[str, ...], str]  # (message full name,) or (message, field) -> leading comment
    files: dict[str, descriptor_pb2.FileDescriptorProto]  # by file name


def index(fds: descriptor_pb2.FileDescriptorSet) -> Index:
    messages: dict[str, descriptor_pb2.DescriptorProto] = {}
    enums: dict[str, descriptor_pb2.EnumDescriptorProto] = {}
    comments: dict[tuple[str, ...], str] = {}
    for f in fds.file:
        located = {tuple(loc.path): loc.leading_comments.strip() for loc in f.source_code_info.location
                   if loc.leading_comments.strip()}

        def walk(prefix: str, path: tuple[int, ...], msg: descriptor_pb2.DescriptorProto,
                 located: dict = located) -> None:
            name = f"{prefix}.{msg.name}"
            messages[name] = msg
            if path in located:
                comments[(name,)] = located[path]
            for i, field in enumerate(msg.field):
                if path + (2, i) in located:
                    comments[(name, field.name)] = located[path + (2, i)]
            for i, nested in enumerate(msg.nested_type):
                walk(name, path + (3, i), nested)
            for e in msg.enum_type:
                enums[f"{name}.{e.name}"] = e

        for i, msg in enumerate(f.message_type):
            walk(f.package, (4, i), msg)
        for e in f.enum_type:
            enums[f"{f.package}.{e.name}"] = e
    return Index(messages=messages, enums=enums, comments=comments, files={f.name: f for f in fds.file})


if __name__ == "__main__":
    print(build().relative_to(ROOT))
