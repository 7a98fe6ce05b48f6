"""The contracts in protos/ pass buf lint (STANDARD, with the AIP exceptions in build_protos.py)."""

from scripts import build_protos


def test_protos_lint_clean():
    build_protos.lint()  # raises CalledProcessError listing each violation
