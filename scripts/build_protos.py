"""Build Python code from protos/ (make protos); `--lint` runs buf lint, `--breaking` buf breaking.

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


# The contract as last released: `buf breaking` compares protos/ with this commit's. Move it forward
# when a release is cut (a commit, not a tag, so a plain clone has it without fetching tags).
RELEASED = "8c1025f481866f1bbabe029a5faee17af4e18f75"
GOOGLEAPIS = Path("build") / "buf" / "googleapis"


def _buf() -> str:
    return str(Path(sys.executable).parent / "buf")


def _copy_googleapis(root: Path) -> None:
    """google/api and google/rpc from googleapis-common-protos, where buf.yaml expects them."""
    target = root / GOOGLEAPIS
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for sub in ("google/api", "google/rpc"):
        shutil.copytree(include_dirs()[2] / sub, target / sub, ignore=shutil.ignore_patterns("*.py", "__pycache__"))


def lint() -> None:
    """buf lint with the rules in buf.yaml."""
    _copy_googleapis(ROOT)
    subprocess.run([_buf(), "lint", "--path", "protos/shangji"], check=True, cwd=ROOT)
    print("buf lint: clean")


def released_tree(ref: str, into: Path) -> Path:
    """protos/ as of ``ref``, laid out like the repository, with today's buf.yaml and googleapis."""
    shutil.rmtree(into, ignore_errors=True)
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", "--format=tar", ref, "protos/shangji"], cwd=ROOT,
                             capture_output=True, check=False)
    if archive.returncode != 0:
        raise RuntimeError(f"buf breaking: the released commit {ref} is not in this clone "
                           f"({archive.stderr.decode().strip()}); fetch it or move RELEASED forward")
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    shutil.copy(ROOT / "buf.yaml", into / "buf.yaml")
    _copy_googleapis(into)
    return into


def breaking(ref: str = RELEASED, workspace: Path = ROOT) -> None:
    """buf breaking: ``workspace``'s protos/ against the released contract (additive changes only).

    Raises CalledProcessError, with buf's findings on stderr, when a change breaks the contract.
    """
    _copy_googleapis(workspace)
    against = released_tree(ref, ROOT / "build" / "buf" / "released")
    subprocess.run([_buf(), "breaking", "--against", str(against)], check=True, cwd=workspace,
                   capture_output=True, text=True)
    print(f"buf breaking: no breaking change since {ref[:12]}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--lint", action="store_true")
    parser.add_argument("--breaking", action="store_true")
    args = parser.parse_args()
    if args.lint or args.breaking:
        if args.lint:
            lint()
        if args.breaking:
            breaking()
    else:
        build()
