"""Teams' organisation kept for samples: visibility, approvers and cost centres. A user who leaves hands the
approval steps waiting for them to the next approver up each requester's chain, in the same transaction."""

from __future__ import annotations

from datetime import datetime

from samples.domain import approval, model
from samples.service_layer.unit_of_work import SamplesUnitOfWork
from shangji_kit import visibility
from shangji_kit.clock import Clock, utc_now
from shangji_kit.inbox import idempotent


@idempotent(skipped=False)
def record_user(uow: SamplesUnitOfWork, user: visibility.OrgUser, clock: Clock = utc_now) -> bool:
    """A user's state from teams (called with the handler's Delivery); False for a redelivery."""
    uow.org.apply_user(user)
    # The projection's state, not the event's: an older event than the state held changes nothing.
    if uow.org.is_active(user.user_id) is False:
        reassign_steps_of(user.user_id, uow, clock())
    return True


def reassign_steps_of(user_id: str, uow: SamplesUnitOfWork, now: datetime) -> list[model.SampleRequest]:
    """Each request waiting for ``user_id`` goes to a replacement approver of the step's tier role (the tier
    as the policy names it now; a tier since removed from it falls to the department head). A request with
    no possible replacement keeps waiting for the departed user: sales ops see it and can withdraw it."""
    policy, _ = uow.policy.get()
    roles = {t.name: t.approver_role for t in policy.tiers}
    moved = []
    for request_id in uow.requests.waiting_for(user_id):
        request = uow.requests.get(request_id, for_update=True)
        step = request.current_step if request else None
        if step is None or step.approver_id != user_id:
            continue
        chain = uow.org.chain(request.cost_centre_id)
        excluded = {s.approver_id for s in request.steps} | {user_id}
        new = approval.replacement_approver(roles.get(step.tier, approval.DEPARTMENT_HEAD), chain,
                                            request.requester_id, excluded)
        if new is None:
            continue
        expected = request.version
        request.reassign_current(new, now)
        uow.requests.update(request, expected)
        uow.publish(request.events)
        moved.append(request)
    return moved
