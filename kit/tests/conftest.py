"""Fixtures the kit's own tests share."""

from __future__ import annotations

import dataclasses
import uuid

import pytest

from shangji_kit import migrate
from shangji_kit.settings import Settings
from shangji_kit.testing import databases


@pytest.fixture
def private_teams_settings(shangji_env) -> Settings:
    """teams' settings on a database of this test's own (a copy of teams' template). Tests that count or claim
    outbox rows need it: once another test has started the session's suite, teams' worker relays from the
    session's teams database and would publish their rows first."""
    name = f"{shangji_env['prefix']}kit_{uuid.uuid4().hex[:8]}"
    url = databases.create_from_template("teams", name)
    yield dataclasses.replace(Settings.for_service("teams"), database_url=url)
    from shangji_kit import db

    db.dispose_all()
    migrate.drop_database(name)
