"""Build Python code from protos/ (make protos); `--lint` runs buf lint over the same tree.

Generated modules go to protos/gen/python (git-ignored) and a .pth file puts that folder on the
virtual environment's path, so `import shangji.leads.v1.leads_pb2` works everywhere.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import grpc_tools

ROOT = Path(__file__).resolve().parent.parent
PROTOS = ROOT / "protos"
OUT = PROTOS / "gen" / "python"
STAMP = OUT / ".source-hash"


def include_dirs() -> list[Path]:
    import google.api  # googleapis-common-protos ships annotations.proto and friends

    googleapis = Path(google.api.__path__[0]).parent.parent
    return [PROTOS, Path(grpc_tools.__file__).parent / "_proto", googleapis]


def sources() -> list[Path]:
    return sorted(PROTOS.glob("shangji/**/*.proto"))


def source_hash() -> str:
    h = hashlib.sha256()
    for p in sources():
        h.update(str(p.relative_to(PROTOS)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def build() -> None:
    digest = source_hash()
    if STAMP.exists() and STAMP.read_text() == digest:
        print("protos: up to date")
    else:
        shutil.rmtree(OUT, ignore_errors=True)
        OUT.mkdir(parents=True)
        args = [sys.executable, "-m", "grpc_tools.protoc"]
        args += [f"-I{d}" for d in include_dirs()]
        args += [f"--python_out={OUT}", f"--pyi_out={OUT}", f"--grpc_python_out={OUT}"]
        args += [str(p.relative_to(PROTOS)) for p in sources()]
        subprocess.run(args, check=True, cwd=PROTOS)
        STAMP.write_text(digest)
        print(f"protos: generated {len(sources())} files into {OUT.relative_to(ROOT)}")
    pth = Path(sysconfig.get_paths()["purelib"]) / "shangji_protos.pth"
    if not pth.exists() or pth.read_text().strip() != str(OUT):
        pth.write_text(str(OUT) + "\n")


def lint() -> None:
    """buf lint with the googleapis protos as a local module (no registry access needed)."""
    work = ROOT / "build" / "buf"
    shutil.rmtree(work, ignore_errors=True)
    (work / "third_party").mkdir(parents=True)
    googleapis = include_dirs()[2]
    for sub in ("google/api", "google/rpc"):
        shutil.copytree(googleapis / sub, work / "third_party" / sub,
                        ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    shutil.copytree(PROTOS / "shangji", work / "protos" / "shangji")
    (work / "buf.yaml").write_text(
        "version: v2\n"
        "modules:\n"
        "  - path: protos\n"
        "    lint:\n"
        "      use: [STANDARD]\n"
        # AIP-126: enums nested in their message need no value prefix (Lead.State.OPEN); AIP standard
        # methods return the resource itself, not a <Method>Response.
        "      except: [RPC_REQUEST_RESPONSE_UNIQUE, RPC_RESPONSE_STANDARD_NAME, ENUM_VALUE_PREFIX]\n"
        "  - path: third_party\n"
        "    lint:\n"
        "      ignore: [third_party/google]\n"
    )
    buf = Path(sys.executable).parent / "buf"
    subprocess.run([str(buf), "lint", "--path", "protos/shangji"], check=True, cwd=work)
    print("buf lint: clean")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--lint", action="store_true")
    if parser.parse_args().lint:
        lint()
    else:
        build()
