"""The registration settings (GetRegistrationSettings, UpdateRegistrationSettings and the CLI) through the in-process
front, on the real database: who may read and change them, bad values, stale etags, and that a change is in force
from the next registration."""

import io
import threading
import uuid
from datetime import UTC, datetime

import grpc
import pytest
from google.protobuf import field_mask_pb2

from opportunities.entrypoints import cli
from shangji.opportunities.v1 import opportunities_pb2 as pb
from shangji_kit.rpc.status import details_of
from shangji_kit.testing.calls import fails


def update(caller, etag: str = "", **fields) -> pb.RegistrationSettings:
    return caller.UpdateRegistrationSettings(pb.UpdateRegistrationSettingsRequest(
        settings=pb.RegistrationSettings(**fields), update_mask=field_mask_pb2.FieldMask(paths=list(fields)),
        etag=etag))


def read(caller) -> pb.RegistrationSettings:
    return caller.GetRegistrationSettings(pb.GetRegistrationSettingsRequest())


def settings_row(scalar) -> tuple:
    return (scalar("SELECT protection_days FROM registration_settings"),
            scalar("SELECT collision_mode FROM registration_settings"),
            scalar("SELECT big_deal_threshold FROM registration_settings"),
            scalar("SELECT version FROM registration_settings"))


@pytest.fixture(autouse=True)
def defaults(execute):
    """Every other test of the session expects the shipped settings: put them back."""
    yield
    execute("UPDATE registration_settings SET protection_days = 90, collision_mode = 'refuse', "
            "big_deal_threshold = NULL")


@pytest.fixture
def sales_ops(org):
    return org.user(roles=("sales_ops",))


def test_every_active_user_reads_them_and_sales_ops_change_them(as_user, org, sales_ops):
    rep = org.user()
    before = read(as_user(rep))
    assert (before.protection_days, before.collision_mode, before.big_deal_threshold) == (90, "refuse", "")
    started = datetime.now(UTC)
    changed = update(as_user(sales_ops), before.etag, protection_days=30, collision_mode="queue",
                     big_deal_threshold="1000000")
    assert (changed.protection_days, changed.collision_mode, changed.big_deal_threshold) == (30, "queue",
                                                                                            "1000000.00")
    assert changed.updated_by == f"users/{sales_ops}" and changed.etag != before.etag
    assert changed.update_time.ToDatetime(tzinfo=UTC) >= started.replace(microsecond=0)
    assert read(as_user(rep)) == changed
    # Only the masked field changes; "" clears the threshold.
    admin = org.user(roles=("admin",))
    cleared = update(as_user(admin), big_deal_threshold="")
    assert (cleared.protection_days, cleared.collision_mode, cleared.big_deal_threshold) == (30, "queue", "")
    assert cleared.updated_by == f"users/{admin}"


def test_a_rep_a_manager_or_a_deactivated_user_may_not_change_them(as_user, org, scalar, sales_ops):
    manager = org.user(roles=("sales_manager",))
    org.department(head=manager)
    row = settings_row(scalar)
    for caller in (org.user(), manager):
        # Checked before the request: a bad mask tells them nothing of what the settings accept.
        for fields in ({"protection_days": 30}, {"collision_mode": "nonsense"}):
            exc = fails(lambda r, c=caller: update(as_user(c), **r), fields)
            assert exc.code() == grpc.StatusCode.PERMISSION_DENIED
    gone = org.user(roles=("sales_ops",))
    org.user(gone, roles=("sales_ops",), active=False, kind="UserDeactivated")
    for call in (lambda: update(as_user(gone), protection_days=30), lambda: read(as_user(gone))):
        with pytest.raises(grpc.RpcError) as exc:
            call()
        assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert settings_row(scalar) == row


@pytest.mark.parametrize(("fields", "mask", "bad"), [
    ({"protection_days": 0}, None, ["settings.protection_days"]),
    ({"protection_days": -5}, None, ["settings.protection_days"]),
    ({"protection_days": 3651}, None, ["settings.protection_days"]),
    ({"protection_days": 2**31 - 1}, None, ["settings.protection_days"]),
    ({"collision_mode": "ask"}, None, ["settings.collision_mode"]),
    ({"collision_mode": ""}, None, ["settings.collision_mode"]),
    ({"big_deal_threshold": "-1"}, None, ["settings.big_deal_threshold"]),
    ({"big_deal_threshold": "abc"}, None, ["settings.big_deal_threshold"]),
    ({"big_deal_threshold": "NaN"}, None, ["settings.big_deal_threshold"]),
    ({"big_deal_threshold": "1e309"}, None, ["settings.big_deal_threshold"]),
    ({"big_deal_threshold": "1.005"}, None, ["settings.big_deal_threshold"]),
    ({"big_deal_threshold": "99999999999999999"}, None, ["settings.big_deal_threshold"]),
    ({"protection_days": 0, "collision_mode": "x", "big_deal_threshold": "-1"}, None,
     ["settings.protection_days", "settings.collision_mode", "settings.big_deal_threshold"]),
    ({"protection_days": 30}, [], ["update_mask"]),
    ({"protection_days": 30}, ["protection_days", "etag"], ["update_mask"]),
    ({"protection_days": 30}, ["*"], ["update_mask"]),
    ({"big_deal_threshold": "1\x00"}, None, ["settings.big_deal_threshold"]),
])
def test_bad_values_are_named_and_change_nothing(as_user, scalar, sales_ops, fields, mask, bad):
    row = settings_row(scalar)
    request = pb.UpdateRegistrationSettingsRequest(
        settings=pb.RegistrationSettings(**fields),
        update_mask=field_mask_pb2.FieldMask(paths=list(fields) if mask is None else mask))
    exc = fails(as_user(sales_ops).UpdateRegistrationSettings, request)
    assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert details_of(exc)["fields"] == bad
    assert settings_row(scalar) == row


def test_a_stale_etag_is_aborted(as_user, scalar, sales_ops):
    first = read(as_user(sales_ops))
    update(as_user(sales_ops), first.etag, protection_days=60)
    exc = fails(lambda r: update(as_user(sales_ops), first.etag, **r), {"protection_days": 45})
    assert exc.code() == grpc.StatusCode.ABORTED
    assert details_of(exc)["reason"] == "ETAG_MISMATCH"
    assert scalar("SELECT protection_days FROM registration_settings") == 60


def test_a_changed_collision_mode_and_period_are_in_force_from_the_next_registration(as_user, org, sales_ops):
    holder, other = org.user(), org.user()
    customer = f"设置客户{uuid.uuid4().hex[:8]}有限公司"

    def register(caller):
        return as_user(caller).RegisterOpportunity(pb.RegisterOpportunityRequest(opportunity=pb.Opportunity(
            customer_company=customer, product_lines=["ERP"])))

    register(holder)
    assert fails(lambda r: register(other), None).code() == grpc.StatusCode.FAILED_PRECONDITION
    update(as_user(sales_ops), collision_mode="queue")
    queued = register(other)
    assert queued.registration_state == pb.Opportunity.PENDING_ARBITRATION
    update(as_user(sales_ops), collision_mode="refuse")
    assert fails(lambda r: register(other), None).code() == grpc.StatusCode.FAILED_PRECONDITION


def test_a_big_deal_threshold_set_through_the_api_raises_alerts(as_user, org, scalar, sales_ops):
    rep = org.user()
    update(as_user(sales_ops), big_deal_threshold="500000")
    deal = as_user(rep).RegisterOpportunity(pb.RegisterOpportunityRequest(opportunity=pb.Opportunity(
        customer_company=f"大单客户{uuid.uuid4().hex[:8]}", product_lines=["MES"], amount="600000")))
    assert scalar("SELECT count(*) FROM outbox WHERE subject = :s AND type = :t", s=deal.name,
                  t="shangji.opportunities.v1.OpportunityBigDeal") == 1


def test_the_cli_shows_and_sets_them_as_the_caller(front, token_for, org, scalar, sales_ops):
    target = f"127.0.0.1:{front.bound_port}"

    def run(*argv, user):
        out = io.StringIO()
        code = cli.main(["registration-settings", *argv, "--target", target, "--token", token_for(user)], out=out)
        return code, out.getvalue()

    code, text = run("show", user=org.user())
    assert code == 0 and "protection_days     90" in text and "collision_mode      refuse" in text
    code, text = run("set", "--protection-days", "45", "--collision-mode", "queue", "--big-deal-threshold", "250000",
                     user=sales_ops)
    assert code == 0 and "protection_days     45" in text and f"by users/{sales_ops}" in text
    assert scalar("SELECT protection_days || ' ' || collision_mode || ' ' || big_deal_threshold "
                  "FROM registration_settings") == "45 queue 250000.00"
    # A rep is refused by the API; a bad value is named; nothing changes.
    assert run("set", "--protection-days", "10", user=org.user())[0] == 1
    assert run("set", "--protection-days", "0", user=sales_ops)[0] == 1
    assert run("set", "--big-deal-threshold", "", user=sales_ops)[0] == 0
    assert scalar("SELECT protection_days FROM registration_settings") == 45
    assert scalar("SELECT big_deal_threshold FROM registration_settings") is None


def test_of_two_concurrent_changes_from_one_read_exactly_one_wins(as_user, scalar, sales_ops):
    etag = read(as_user(sales_ops)).etag
    results: list = []

    def change(days: int) -> None:
        try:
            results.append(update(as_user(sales_ops), etag, protection_days=days).protection_days)
        except grpc.RpcError as exc:
            results.append(exc.code())

    threads = [threading.Thread(target=change, args=(days,)) for days in (30, 60)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    [won] = [r for r in results if isinstance(r, int)]
    assert [r for r in results if not isinstance(r, int)] == [grpc.StatusCode.ABORTED]
    assert scalar("SELECT protection_days FROM registration_settings") == won
