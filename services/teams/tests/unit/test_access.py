"""Who may do what: the caller's roles, heads up the tree, the contact directory. No I/O."""

from datetime import UTC, datetime

import pytest

from shangji_kit.errors import PermissionDenied
from teams.domain import access, model

NOW = datetime(2026, 11, 25, tzinfo=UTC)


def user(id: str, roles=(), active: bool = True) -> model.User:
    u = model.new_user(id=id, values={"display_name": id, "email": f"{id}@example.com", "phone": "+8613800138000",
                                      "roles": tuple(roles)}, now=NOW)
    u.active = active
    return u


def test_roles_come_from_the_users_row_not_the_token():
    caller = access.caller_of("u1", ["sales_ops", "sales_manager"], user("u1", ["sales_rep"]), [])
    assert caller.roles == {"sales_rep"} and not caller.sees_everything


def test_a_roles_claim_of_admin_is_the_bootstrap_path():
    for row in (None, user("u1"), user("u1", active=False)):
        caller = access.caller_of("u1", ["admin"], row, [])
        assert caller.is_admin and caller.sees_everything


def test_an_inactive_user_has_no_roles_and_heads_nothing():
    caller = access.caller_of("u1", [], user("u1", ["admin"], active=False), ["/a/"])
    assert caller.roles == frozenset() and caller.headed_paths == ()


def test_only_admins_pass_the_admin_gate():
    access.require_admin(access.Caller("u1", frozenset({"admin"})), "create users")
    for roles in (set(), {"sales_ops"}, {"sales_manager"}):
        with pytest.raises(PermissionDenied) as exc:
            access.require_admin(access.Caller("u1", frozenset(roles)), "create users")
        assert exc.value.reason == "ADMIN_REQUIRED"


def test_a_head_is_above_their_department_and_everything_below_it():
    head = access.Caller("h", headed_paths=("/c/s/",))
    assert head.heads_above("/c/s/") and head.heads_above("/c/s/t/d/")
    assert not head.heads_above("/c/") and not head.heads_above("/c/n/") and not head.heads_above(None)
    assert not head.heads_above("/c/s2/")  # a sibling whose id merely starts alike


def test_transfers_are_for_admins_and_heads_above():
    assert access.may_transfer(access.Caller("a", frozenset({"admin"})), None)
    assert access.may_transfer(access.Caller("h", headed_paths=("/c/",)), "/c/s/")
    assert not access.may_transfer(access.Caller("h", headed_paths=("/c/s/",)), "/c/")
    assert not access.may_transfer(access.Caller("o", frozenset({"sales_ops"})), "/c/")


def test_who_manages_and_who_sees_a_team():
    owner, path, members = "o", "/c/s/", {"m"}
    cases = {
        "owner": (access.Caller("o"), True, True),
        "head above": (access.Caller("h", headed_paths=("/c/",)), True, True),
        "admin": (access.Caller("a", frozenset({"admin"})), True, True),
        "member": (access.Caller("m"), False, True),
        "sales ops": (access.Caller("x", frozenset({"sales_ops"})), False, True),
        "sibling head": (access.Caller("h2", headed_paths=("/c/n/",)), False, False),
        "stranger": (access.Caller("s", frozenset({"sales_manager"})), False, False),
    }
    for who, (caller, manages, sees) in cases.items():
        assert access.may_manage_team(caller, owner, path) is manages, who
        assert access.may_see_team(caller, owner, path, members) is sees, who
    assert not access.may_manage_team(access.Caller("h", headed_paths=("/c/",)), owner, None)


def test_the_contact_directory():
    other = user("u2")
    me = access.Caller("u1")
    assert access.as_seen_by(me, other, shares_a_team=False).email == ""
    hidden = access.as_seen_by(me, other, shares_a_team=False)
    assert (hidden.email, hidden.phone, hidden.display_name, hidden.etag) == ("", "", "u2", other.etag)
    assert other.email == "u2@example.com"  # the original is untouched
    assert access.as_seen_by(me, other, shares_a_team=True) is other
    assert access.as_seen_by(access.Caller("u2"), other, shares_a_team=False) is other
    for role in ("admin", "sales_ops"):
        assert access.as_seen_by(access.Caller("u1", frozenset({role})), other, shares_a_team=False) is other
    assert access.as_seen_by(access.Caller("u1", frozenset({"sales_manager"})), other, False).phone == ""
