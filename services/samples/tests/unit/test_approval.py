"""Which tiers a request needs (every boundary) and who approves each, without I/O."""

from decimal import Decimal

import pytest

from samples.domain import approval
from samples.domain.approval import ChainDepartment, Member, Tier, TierInput
from shangji_kit.errors import FailedPrecondition, InvalidArgument

POLICY = approval.Policy((
    Tier("sales_manager", 10, Decimal("5000"), "department_head"),
    Tier("sales_director", 100, Decimal("50000"), "department_head"),
    Tier("vp", None, None, "department_head"),
), "CNY")


def needed(quantity: int, cost: str, currency: str = "CNY") -> list[str]:
    return [t.name for t in approval.tiers_needed(POLICY, quantity, Decimal(cost), currency)]


@pytest.mark.parametrize(("quantity", "cost", "tiers"), [
    (1, "0", ["sales_manager"]),
    (10, "5000", ["sales_manager"]),                      # both limits are inclusive
    (11, "10", ["sales_manager", "sales_director"]),      # one unit over the manager's quantity
    (10, "5000.01", ["sales_manager", "sales_director"]),  # one cent over the manager's cost
    (100, "50000", ["sales_manager", "sales_director"]),
    (101, "1", ["sales_manager", "sales_director", "vp"]),
    (5, "50000.0001", ["sales_manager", "sales_director", "vp"]),
])
def test_a_request_needs_every_tier_up_to_the_first_covering_both_limits(quantity, cost, tiers):
    assert needed(quantity, cost) == tiers


def test_a_cost_in_another_currency_is_not_covered_by_a_cost_limit():
    assert needed(1, "1", currency="USD") == ["sales_manager", "sales_director", "vp"]


def test_a_tier_without_a_quantity_limit_is_decided_by_cost_alone():
    policy = approval.Policy((Tier("cheap", None, Decimal("100"), "sales_manager"), Tier("all", None, None, "x")))
    assert [t.name for t in approval.tiers_needed(policy, 10_000, Decimal("100"), "CNY")] == ["cheap"]
    assert [t.name for t in approval.tiers_needed(policy, 1, Decimal("100.5"), "CNY")] == ["cheap", "all"]


def test_a_policy_is_refused_with_every_problem_located():
    with pytest.raises(InvalidArgument) as exc:
        approval.validate_policy([
            TierInput("a", 10, "abc", "department_head"),
            TierInput("a", 5, "", ""),
            TierInput("c", 0, "-1", "sales_manager"),
        ], "yuan")
    fields = {v.field for v in exc.value.violations}
    assert fields >= {"policy.currency", "policy.tiers[0].max_estimated_cost", "policy.tiers[1].name",
                      "policy.tiers[1].approver_role", "policy.tiers[1].max_total_quantity",
                      "policy.tiers[2].max_total_quantity", "policy.tiers[2].max_estimated_cost", "policy.tiers[2]"}


def test_a_valid_policy_keeps_its_order_and_unbounded_last_tier():
    policy = approval.validate_policy([TierInput("m", 10, "5000", "department_head"),
                                       TierInput("vp", None, "", "department_head")], "")
    assert policy.currency == "CNY"
    assert policy.tiers[1] == Tier("vp", None, None, "department_head")


def test_an_empty_policy_is_refused():
    with pytest.raises(InvalidArgument):
        approval.validate_policy([], "CNY")


REP, MANAGER, DIRECTOR, VP, PEER = "rep", "manager", "director", "vp", "peer"


def chain(*, manager_active: bool = True) -> list[ChainDepartment]:
    """team (head: manager) < sales (head: director) < company (head: vp); own department first."""
    return [
        ChainDepartment("team", Member(MANAGER, frozenset({"sales_manager"}), manager_active),
                        (Member(REP, frozenset({"sales_rep"}), True), Member(PEER, frozenset({"sales_rep"}), True))),
        ChainDepartment("sales", Member(DIRECTOR, frozenset(), True), ()),
        ChainDepartment("company", Member(VP, frozenset(), True), ()),
    ]


def test_successive_tiers_climb_the_chain():
    got = approval.resolve_approvers(POLICY.tiers, chain(), REP)
    assert [(t.name, a) for t, a in got] == [("sales_manager", MANAGER), ("sales_director", DIRECTOR), ("vp", VP)]


def test_an_inactive_head_is_skipped_and_the_walk_goes_up():
    got = approval.resolve_approvers(POLICY.tiers[:1], chain(manager_active=False), REP)
    assert got[0][1] == DIRECTOR


def test_the_requester_never_approves_their_own_request():
    # The manager asks: their own department's head is themself, so the director approves the first tier.
    got = approval.resolve_approvers(POLICY.tiers[:2], chain(), MANAGER)
    assert [a for _, a in got] == [DIRECTOR, VP]


def test_a_role_is_looked_for_in_heads_then_members():
    tiers = [Tier("peer_review", None, None, "sales_rep")]
    assert approval.resolve_approvers(tiers, chain(), REP)[0][1] == PEER


def test_no_approver_for_a_needed_tier_is_a_failed_precondition_naming_it():
    with pytest.raises(FailedPrecondition) as exc:
        approval.resolve_approvers(POLICY.tiers, chain()[:2], REP)
    assert exc.value.reason == "NO_APPROVER"
    assert exc.value.metadata["tier"] == "vp"


def test_a_replacement_is_the_next_holder_up_the_chain_outside_the_request_and_never_the_requester():
    from samples.domain.approval import ChainDepartment, Member, replacement_approver

    def m(user_id, *roles, active=True):
        return Member(user_id, frozenset(roles), active)

    chain = [ChainDepartment("team", m("gone", "sales_manager", active=False), (m("rep"), m("peer", "sales_manager"))),
             ChainDepartment("sales", m("director", "sales_manager"), ()),
             ChainDepartment("company", m("vp", "sales_manager"), ())]
    assert replacement_approver("sales_manager", chain, "rep", {"gone"}) == "peer"
    assert replacement_approver("sales_manager", chain, "peer", {"gone"}) == "director"   # not the requester
    assert replacement_approver("department_head", chain, "rep", {"gone"}) == "director"  # heads only
    assert replacement_approver("department_head", chain, "rep", {"gone", "director"}) == "vp"
    assert replacement_approver("sales_manager", chain, "rep", {"gone", "peer", "director", "vp"}) is None
