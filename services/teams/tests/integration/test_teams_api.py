"""Users through the teams front in-process, against the session's real teams database."""

import threading
import uuid

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from shangji.teams.v1 import teams_pb2, teams_pb2_grpc

INVALID, NOT_FOUND, DENIED = (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND,
                              grpc.StatusCode.PERMISSION_DENIED)
PRECONDITION, ABORTED = grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.ABORTED


def update(caller, user: teams_pb2.User, *paths: str, etag: str = "") -> teams_pb2.User:
    return caller.UpdateUser(teams_pb2.UpdateUserRequest(user=user, update_mask=FieldMask(paths=list(paths)),
                                                         etag=etag))


# --- CreateUser / GetUser -------------------------------------------------------------------------

def test_create_then_get_with_every_field_and_an_event_in_the_outbox(admin, new_user, new_department,
                                                                     user_message, outbox, db):
    boss = new_user(display_name="王强")
    dept = new_department("华南销售部")
    mark = outbox.mark()
    created = admin.CreateUser(teams_pb2.CreateUserRequest(user=user_message(
        department=dept.name, manager=boss.name, roles=["sales_rep", "presales", "sales_rep"],
        function_tags=[" key_accounts "], territories=["华南", "华东"], expertise=["MES"], capacity=30)))
    assert created.name == f"users/{created.id}" and created.phone == "+8613900139000" and created.active
    assert (created.department, created.manager) == (dept.name, boss.name)
    assert list(created.roles) == ["sales_rep", "presales"] and list(created.function_tags) == ["key_accounts"]
    assert (list(created.territories), list(created.expertise), created.capacity) == (["华南", "华东"], ["MES"], 30)
    assert admin.GetUser(teams_pb2.GetUserRequest(name=created.name)) == created
    events = outbox.since(mark)
    assert [(t, s) for t, s, _ in events] == [("UserCreated", created.name)]
    assert events[0][2]["user"]["department"] == dept.name and events[0][2]["user"]["updateTime"]
    assert db.rows("SELECT placed_under::text, end_time FROM placements WHERE subject_id = :u", u=created.id) == [
        (dept.id, None)]


def test_retry_with_the_same_request_id_returns_the_first_user(admin, user_message, db):
    req = teams_pb2.CreateUserRequest(user=user_message(), request_id=str(uuid.uuid4()))
    first = admin.CreateUser(req)
    before = db.state()
    again = admin.CreateUser(req)
    assert again == first and db.state() == before


def test_a_request_id_is_its_callers_alone(admin, as_user, user_message, db):
    """Issue 11: another admin reusing a request id gets the user they asked for, not the first admin's."""
    request_id = str(uuid.uuid4())
    before = db.count("users")
    first = admin.CreateUser(teams_pb2.CreateUserRequest(user=user_message(), request_id=request_id))
    other_admin = as_user(str(uuid.uuid4()), ["admin"])
    theirs = other_admin.CreateUser(teams_pb2.CreateUserRequest(user=user_message(), request_id=request_id))
    assert theirs.name != first.name and theirs.email != first.email
    assert db.count("users") == before + 2
    assert admin.CreateUser(teams_pb2.CreateUserRequest(user=user_message(), request_id=request_id)) == first


def test_an_over_long_request_id_is_invalid_argument_and_writes_nothing(admin, user_message, fails, db):
    before = db.state()
    failure = fails(admin.CreateUser, teams_pb2.CreateUserRequest(user=user_message(), request_id="x" * 10_000))
    assert failure.code == INVALID and failure.fields == ["request_id"]
    failure = fails(admin.CreateDepartment, teams_pb2.CreateDepartmentRequest(
        department=teams_pb2.Department(display_name="华东"), request_id="x" * 10_000))
    assert failure.code == INVALID and failure.fields == ["request_id"]
    assert db.state() == before


def test_concurrent_retries_with_one_request_id_make_one_user(admin, user_message, db):
    before = db.count("users")
    req = teams_pb2.CreateUserRequest(user=user_message(), request_id=str(uuid.uuid4()))
    barrier, answers = threading.Barrier(20), []

    def call() -> None:
        barrier.wait()
        try:
            answers.append(admin.CreateUser(req))
        except grpc.RpcError as exc:
            answers.append(exc)

    threads = [threading.Thread(target=call) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(isinstance(a, teams_pb2.User) for a in answers), [a for a in answers if isinstance(a, Exception)]
    assert len({a.name for a in answers}) == 1 and db.count("users") == before + 1


def test_every_bad_field_is_reported_at_once_and_nothing_is_written(admin, user_message, fails, db):
    before = db.state()
    failure = fails(admin.CreateUser, teams_pb2.CreateUserRequest(user=user_message(
        display_name=" ", email="nobody-at-example", phone="12", department="华南销售部", manager="users/x",
        roles=["sales_rep", "boss"], territories=["华南", " "], capacity=-1)))
    assert failure.code == INVALID
    assert failure.fields == ["user.display_name", "user.email", "user.phone", "user.department", "user.manager",
                              "user.roles", "user.territories", "user.capacity"]
    assert db.state() == before


def test_unknown_department_and_an_inactive_manager_are_invalid_naming_the_fields(admin, new_user, user_message,
                                                                                   fails, db):
    manager, successor = new_user(), new_user()
    admin.DeactivateUser(teams_pb2.DeactivateUserRequest(name=manager.name, successor=successor.name))
    before = db.state()
    failure = fails(admin.CreateUser, teams_pb2.CreateUserRequest(user=user_message(
        department=f"departments/{uuid.uuid4()}", manager=manager.name)))
    assert (failure.code, failure.fields) == (INVALID, ["user.department", "user.manager"])
    failure = fails(admin.CreateUser, teams_pb2.CreateUserRequest(user=user_message(manager=f"users/{uuid.uuid4()}")))
    assert (failure.code, failure.fields) == (INVALID, ["user.manager"])
    assert db.state() == before


def test_duplicate_email_is_already_exists(admin, new_user, user_message, fails):
    user = new_user()
    failure = fails(admin.CreateUser, teams_pb2.CreateUserRequest(user=user_message(email=user.email.upper())))
    assert (failure.code, failure.reason) == (grpc.StatusCode.ALREADY_EXISTS, "EMAIL_TAKEN")


def test_unknown_user_is_not_found_and_a_bad_name_is_invalid(teams, fails):
    assert fails(teams.GetUser, teams_pb2.GetUserRequest(name=f"users/{uuid.uuid4()}")).code == NOT_FOUND
    failure = fails(teams.GetUser, teams_pb2.GetUserRequest(name="people/1"))
    assert (failure.code, failure.fields) == (INVALID, ["name"])


def test_calls_without_a_valid_token_are_unauthenticated(front, token_for):
    channel = grpc.insecure_channel(f"127.0.0.1:{front.bound_port}")
    stub = teams_pb2_grpc.TeamsServiceStub(channel)
    req = teams_pb2.GetUserRequest(name=f"users/{uuid.uuid4()}")
    for md in ([], [("authorization", "Bearer not-a-jwt")], [("authorization", f"Basic {token_for('x')}")]):
        with pytest.raises(grpc.RpcError) as exc:
            stub.GetUser(req, metadata=md, timeout=5)
        assert exc.value.code() == grpc.StatusCode.UNAUTHENTICATED
    channel.close()


# --- authorisation ---------------------------------------------------------------------------------

def test_admin_only_rpcs_are_denied_to_everyone_else_and_change_nothing(as_user, new_user, new_department,
                                                                         user_message, fails, db):
    rep = new_user(roles=["sales_rep", "sales_manager", "sales_ops"])
    victim, successor, dept = new_user(), new_user(), new_department()
    before = db.state()
    # Roles come from the caller's user row; a roles claim other than the bootstrap "admin" counts for nothing.
    # (A subject that is no user is refused before any of this: tests/test_token_table.py.)
    for caller in (as_user(rep.id), as_user(rep.id, ["sales_ops"])):
        for call, req in (
            (caller.CreateUser, teams_pb2.CreateUserRequest(user=user_message())),
            (caller.UpdateUser, teams_pb2.UpdateUserRequest(user=teams_pb2.User(name=victim.name, capacity=3),
                                                            update_mask=FieldMask(paths=["capacity"]))),
            (caller.DeactivateUser, teams_pb2.DeactivateUserRequest(name=victim.name, successor=successor.name)),
            (caller.CreateDepartment, teams_pb2.CreateDepartmentRequest(
                department=teams_pb2.Department(display_name="新部门"))),
            (caller.UpdateDepartment, teams_pb2.UpdateDepartmentRequest(
                department=teams_pb2.Department(name=dept.name, display_name="改名"),
                update_mask=FieldMask(paths=["display_name"]))),
        ):
            failure = fails(call, req)
            assert (failure.code, failure.reason) == (DENIED, "ADMIN_REQUIRED"), call
    assert db.state() == before


def test_an_admin_by_role_in_the_database_needs_no_roles_claim(as_user, new_user, user_message):
    boss = new_user(roles=["admin"])
    created = as_user(boss.id).CreateUser(teams_pb2.CreateUserRequest(user=user_message()))
    assert created.active


def test_an_inactive_admin_is_no_admin(as_user, new_user, admin, user_message, fails):
    boss, successor = new_user(roles=["admin"]), new_user()
    admin.DeactivateUser(teams_pb2.DeactivateUserRequest(name=boss.name, successor=successor.name))
    assert fails(as_user(boss.id).CreateUser, teams_pb2.CreateUserRequest(user=user_message())).code == DENIED


# --- UpdateUser -------------------------------------------------------------------------------------

def test_update_changes_only_the_masked_fields_and_says_which_changed(admin, new_user, new_department, outbox, db):
    user = new_user(display_name="张伟", territories=["华南"])
    dept = new_department()
    mark = outbox.mark()
    changed = update(admin, teams_pb2.User(name=user.name, display_name="张 伟", department=dept.name,
                                           territories=["华南"], email="ignored@example.com"),
                     "display_name", "department", "territories", etag=user.etag)
    assert (changed.display_name, changed.department, changed.email) == ("张 伟", dept.name, user.email)
    assert changed.etag != user.etag and changed.update_time.ToDatetime() > user.update_time.ToDatetime()
    events = outbox.since(mark)
    assert [(t, s) for t, s, _ in events] == [("UserUpdated", user.name)]
    assert events[0][2]["changedFields"] == ["display_name", "department"]
    history = db.rows("SELECT placed_under::text, end_time IS NULL FROM placements WHERE subject_id = :u "
                      "ORDER BY start_time", u=user.id)
    assert history == [(None, False), (dept.id, True)]


def test_an_update_that_changes_nothing_writes_nothing(admin, new_user, db):
    user = new_user(capacity=5)
    before = db.state()
    same = update(admin, teams_pb2.User(name=user.name, capacity=5), "capacity")
    assert same == user and db.state() == before


def test_update_mask_is_required_and_every_path_must_be_known(admin, new_user, fails, db):
    user = new_user()
    before = db.state()
    for paths in ([], ["capacity", "active"], ["etag"]):
        failure = fails(admin.UpdateUser, teams_pb2.UpdateUserRequest(user=teams_pb2.User(name=user.name),
                                                                       update_mask=FieldMask(paths=paths)))
        assert (failure.code, failure.fields) == (INVALID, ["update_mask"])
    assert db.state() == before


def test_update_checks_values_and_references_like_create(admin, new_user, fails, db):
    user = new_user()
    before = db.state()
    failure = fails(admin.UpdateUser, teams_pb2.UpdateUserRequest(
        user=teams_pb2.User(name=user.name, email="", roles=["king"], manager=user.name),
        update_mask=FieldMask(paths=["email", "roles", "manager"])))
    assert (failure.code, failure.fields) == (INVALID, ["user.email", "user.roles", "user.manager"])
    assert db.state() == before


def test_a_manager_cycle_is_refused(admin, new_user, fails):
    top = new_user()
    middle = new_user(manager=top.name)
    failure = fails(admin.UpdateUser, teams_pb2.UpdateUserRequest(user=teams_pb2.User(name=top.name,
                                                                                      manager=middle.name),
                                                                  update_mask=FieldMask(paths=["manager"])))
    assert (failure.code, failure.fields) == (INVALID, ["user.manager"])


def test_a_stale_etag_is_aborted_and_changes_nothing(admin, new_user, fails, db):
    user = new_user()
    update(admin, teams_pb2.User(name=user.name, capacity=1), "capacity", etag=user.etag)
    before = db.state()
    failure = fails(admin.UpdateUser, teams_pb2.UpdateUserRequest(
        user=teams_pb2.User(name=user.name, capacity=2), update_mask=FieldMask(paths=["capacity"]), etag=user.etag))
    assert (failure.code, failure.reason) == (ABORTED, "ETAG_MISMATCH")
    assert db.state() == before


def test_an_email_taken_by_another_user_is_already_exists(admin, new_user, fails):
    first, second = new_user(), new_user()
    failure = fails(admin.UpdateUser, teams_pb2.UpdateUserRequest(
        user=teams_pb2.User(name=second.name, email=first.email), update_mask=FieldMask(paths=["email"])))
    assert (failure.code, failure.reason) == (grpc.StatusCode.ALREADY_EXISTS, "EMAIL_TAKEN")


def test_two_concurrent_updates_with_the_same_etag_one_wins(admin, new_user, db):
    user = new_user()
    outcomes = []
    start = threading.Barrier(2)

    def attempt(capacity: int) -> None:
        start.wait()
        try:
            update(admin, teams_pb2.User(name=user.name, capacity=capacity), "capacity", etag=user.etag)
            outcomes.append("ok")
        except grpc.RpcError as exc:
            outcomes.append(exc.code())

    threads = [threading.Thread(target=attempt, args=(n,)) for n in (7, 8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(map(str, outcomes)) == sorted(["ok", str(ABORTED)])
    assert db.scalar("SELECT version FROM users WHERE id = :u", u=user.id) == 2


# --- ListUsers ----------------------------------------------------------------------------------------

def test_list_filters_by_department_subtree_role_territory_expertise_and_activity(admin, new_user, new_department):
    centre = new_department("销售中心")
    south = new_department("华南销售部", parent=centre)
    other = new_department("华北销售部")
    tag = uuid.uuid4().hex[:8]  # this test's users only
    a = new_user(department=centre.name, roles=["sales_manager"], territories=[tag], expertise=["MES"])
    b = new_user(department=south.name, roles=["sales_rep"], territories=[tag, "华南"])
    c = new_user(department=other.name, roles=["sales_rep"], territories=[tag])
    gone = new_user(department=south.name, roles=["sales_rep"], territories=[tag])
    admin.DeactivateUser(teams_pb2.DeactivateUserRequest(name=gone.name, successor=b.name))

    def names(**filters) -> list[str]:
        return [u.name for u in admin.ListUsers(teams_pb2.ListUsersRequest(territory=tag, **filters)).users]

    assert names() == [a.name, b.name, c.name]
    assert names(department=centre.name) == [a.name, b.name]
    assert names(department=south.name) == [b.name]
    assert names(department=south.name, include_inactive=True) == [b.name, gone.name]
    assert names(role="sales_rep") == [b.name, c.name]
    assert names(expertise="MES") == [a.name]
    assert names(department=f"departments/{uuid.uuid4()}") == []


def test_list_pages_with_keyset_tokens(admin, new_user, fails):
    tag = uuid.uuid4().hex[:8]
    made = [new_user(territories=[tag]).name for _ in range(5)]
    seen, token, sizes = [], "", []
    while True:
        resp = admin.ListUsers(teams_pb2.ListUsersRequest(territory=tag, page_size=2, page_token=token))
        sizes.append(len(resp.users))
        seen += [u.name for u in resp.users]
        token = resp.next_page_token
        if not token:
            break
    assert (seen, sizes) == (made, [2, 2, 1])
    assert fails(admin.ListUsers, teams_pb2.ListUsersRequest(page_token="garbage")).fields == ["page_token"]
    assert fails(admin.ListUsers, teams_pb2.ListUsersRequest(role="king")).fields == ["role"]
    assert fails(admin.ListUsers, teams_pb2.ListUsersRequest(department="华南")).fields == ["department"]


# --- the contact directory -------------------------------------------------------------------------

def test_email_and_phone_of_others_are_shown_only_within_the_contact_directory(as_user, new_user, admin,
                                                                               new_opportunity):
    tag = uuid.uuid4().hex[:8]
    me, stranger, mate = (new_user(territories=[tag]) for _ in range(3))
    ops, boss = new_user(roles=["sales_ops"]), new_user(roles=["admin"])

    def seen_by(caller_id: str, user: teams_pb2.User) -> tuple[str, str]:
        got = as_user(caller_id).GetUser(teams_pb2.GetUserRequest(name=user.name))
        return got.email, got.phone

    assert seen_by(me.id, me) == (me.email, me.phone)
    assert seen_by(me.id, stranger) == ("", "") and seen_by(me.id, mate) == ("", "")
    assert seen_by(ops.id, stranger) == (stranger.email, stranger.phone)
    assert seen_by(boss.id, stranger) == (stranger.email, stranger.phone)
    assert as_user(me.id).GetUser(teams_pb2.GetUserRequest(name=stranger.name)).display_name == stranger.display_name

    # Sharing an opportunity team (here: I own it, they are a member) opens the directory both ways.
    deal = new_opportunity(me)
    as_user(me.id).AddOpportunityTeamMember(teams_pb2.AddOpportunityTeamMemberRequest(
        team=f"opportunities/{deal}/team", member=teams_pb2.OpportunityTeamMember(user=mate.name, role="presales")))
    assert seen_by(me.id, mate) == (mate.email, mate.phone)
    assert seen_by(mate.id, me) == (me.email, me.phone)
    listed = {u.name: u.email for u in as_user(me.id).ListUsers(teams_pb2.ListUsersRequest(territory=tag)).users}
    assert listed == {me.name: me.email, stranger.name: "", mate.name: mate.email}


# --- DeactivateUser ---------------------------------------------------------------------------------

def test_deactivation_emits_both_events_in_one_transaction_and_moves_known_opportunities(
        admin, new_user, new_opportunity, outbox, db):
    user, successor = new_user(), new_user()
    deal = new_opportunity(user)
    mark = outbox.mark()
    done = admin.DeactivateUser(teams_pb2.DeactivateUserRequest(name=user.name, successor=successor.name,
                                                                etag=user.etag))
    assert not done.active and done.etag != user.etag
    events = outbox.since(mark)
    assert [(t, s) for t, s, _ in events] == [("UserDeactivated", user.name), ("OwnershipTransferred", user.name)]
    # proto3 JSON leaves out false, the default: the user is inactive
    assert events[0][2]["successor"] == successor.name and "active" not in events[0][2]["user"]
    transfer = events[1][2]
    assert (transfer["fromUser"], transfer["toUser"]) == (user.name, successor.name) and transfer["transferId"]
    # One transaction: both rows carry the same inserting transaction id.
    assert db.scalar("SELECT count(DISTINCT xmin::text) FROM outbox WHERE position > :m", m=mark) == 1
    assert db.scalar("SELECT owner_id::text FROM opportunity_owners WHERE opportunity_id = :o", o=deal) == successor.id


def test_deactivation_refusals_are_precise_and_change_nothing(admin, new_user, fails, db):
    user, successor, inactive = new_user(), new_user(), new_user()
    admin.DeactivateUser(teams_pb2.DeactivateUserRequest(name=inactive.name, successor=successor.name))
    before = db.state()
    cases = [
        (teams_pb2.DeactivateUserRequest(name=user.name), (INVALID, None, ["successor"])),
        (teams_pb2.DeactivateUserRequest(name=user.name, successor=user.name), (INVALID, None, ["successor"])),
        (teams_pb2.DeactivateUserRequest(name=user.name, successor=f"users/{uuid.uuid4()}"),
         (INVALID, None, ["successor"])),
        (teams_pb2.DeactivateUserRequest(name=user.name, successor=inactive.name),
         (PRECONDITION, "INACTIVE_USER", [])),
        (teams_pb2.DeactivateUserRequest(name=inactive.name, successor=successor.name),
         (PRECONDITION, "USER_ALREADY_INACTIVE", [])),
        (teams_pb2.DeactivateUserRequest(name=user.name, successor=successor.name, etag="99"),
         (ABORTED, "ETAG_MISMATCH", [])),
        (teams_pb2.DeactivateUserRequest(name=f"users/{uuid.uuid4()}", successor=successor.name),
         (NOT_FOUND, "NOT_FOUND", [])),
    ]
    for req, expected in cases:
        failure = fails(admin.DeactivateUser, req)
        assert (failure.code, failure.reason if expected[1] else None, failure.fields) == expected, req
    assert db.state() == before


def test_a_second_deactivation_is_a_failed_precondition(admin, new_user, fails, outbox):
    user, successor = new_user(), new_user()
    req = teams_pb2.DeactivateUserRequest(name=user.name, successor=successor.name)
    admin.DeactivateUser(req)
    mark = outbox.mark()
    failure = fails(admin.DeactivateUser, req)
    assert (failure.code, failure.reason) == (PRECONDITION, "USER_ALREADY_INACTIVE")
    assert outbox.since(mark) == []


# --- TransferOwnership ------------------------------------------------------------------------------

def test_an_admin_transfers_ownership_with_one_event_and_the_projection_follows(admin, new_user, new_opportunity,
                                                                                outbox, db):
    giver, taker = new_user(), new_user()
    deals = [new_opportunity(giver) for _ in range(2)]
    mark = outbox.mark()
    resp = admin.TransferOwnership(teams_pb2.TransferOwnershipRequest(from_user=giver.name, to_user=taker.name))
    assert uuid.UUID(resp.transfer_id)
    events = outbox.since(mark)
    assert [(t, s) for t, s, _ in events] == [("OwnershipTransferred", giver.name)]
    assert events[0][2]["transferId"] == resp.transfer_id and events[0][2]["transferTime"]
    assert db.scalar("SELECT count(*) FROM opportunity_owners WHERE owner_id = :u", u=taker.id) == len(deals)
    assert db.scalar("SELECT users.active FROM users WHERE id = :u", u=giver.id) is True


def test_a_head_above_the_users_department_may_transfer_others_may_not(as_user, new_user, new_department, fails,
                                                                       outbox):
    head, sibling_head = new_user(), new_user()
    centre = new_department("销售中心", head=head)
    south = new_department("华南销售部", parent=centre)
    north = new_department("华北销售部", parent=centre, head=sibling_head)
    giver, taker = new_user(department=south.name), new_user(department=north.name)
    req = teams_pb2.TransferOwnershipRequest(from_user=giver.name, to_user=taker.name)
    mark = outbox.mark()
    for outsider in (sibling_head.id, giver.id):  # no user at all: UNAUTHENTICATED
        failure = fails(as_user(outsider).TransferOwnership, req)
        assert (failure.code, failure.reason) == (DENIED, "NOT_A_MANAGER")
    assert outbox.since(mark) == []
    assert as_user(head.id).TransferOwnership(req).transfer_id


def test_transfer_refusals_are_precise_and_change_nothing(admin, new_user, fails, db):
    giver, taker, inactive = new_user(), new_user(), new_user()
    admin.DeactivateUser(teams_pb2.DeactivateUserRequest(name=inactive.name, successor=taker.name))
    before = db.state()
    cases = [
        (teams_pb2.TransferOwnershipRequest(from_user=giver.name, to_user=inactive.name),
         (PRECONDITION, "INACTIVE_USER", [])),
        (teams_pb2.TransferOwnershipRequest(from_user=giver.name, to_user=f"users/{uuid.uuid4()}"),
         (INVALID, "INVALID_ARGUMENT", ["to_user"])),
        (teams_pb2.TransferOwnershipRequest(from_user=giver.name, to_user=giver.name),
         (INVALID, "INVALID_ARGUMENT", ["to_user"])),
        (teams_pb2.TransferOwnershipRequest(from_user=f"users/{uuid.uuid4()}", to_user=taker.name),
         (NOT_FOUND, "NOT_FOUND", [])),
        (teams_pb2.TransferOwnershipRequest(from_user="nobody", to_user=taker.name),
         (INVALID, "INVALID_ARGUMENT", ["from_user"])),
    ]
    for req, expected in cases:
        failure = fails(admin.TransferOwnership, req)
        assert (failure.code, failure.reason, failure.fields) == expected, req
    assert db.state() == before
