from datetime import datetime, timezone

import pytest

from shangji_kit.errors import InvalidArgument
from teams.domain import model

NOW = datetime(2026, 11, 25, tzinfo=timezone.utc)


def make(**kw):
    args = {"id": "u1", "display_name": "Li Lei", "email": "Li.Lei@Example.com", "phone": "138 0013 8000",
            "department": " Sales East ", "now": NOW}
    args.update(kw)
    return model.new_user(**args)


def test_new_user_is_normalised_and_records_its_creation():
    user = make()
    assert (user.email, user.phone, user.department) == ("li.lei@example.com", "+8613800138000", "Sales East")
    assert user.active and user.etag == "1"
    assert [type(e) for e in user.events] == [model.UserCreated]


def test_every_bad_field_is_reported_at_once():
    with pytest.raises(InvalidArgument) as exc:
        make(display_name="  ", email="not-an-email", phone="12")
    assert [v.field for v in exc.value.violations] == ["user.display_name", "user.email", "user.phone"]


def test_email_is_required():
    with pytest.raises(InvalidArgument) as exc:
        make(email="")
    assert exc.value.violations[0].field == "user.email"
