"""Approvers decide, requesters withdraw: each a change of one request under its etag."""

from __future__ import annotations

from samples.domain import model
from samples.service_layer import access
from samples.service_layer.unit_of_work import SamplesUnitOfWork
from shangji_kit.clock import Clock, utc_now


def approve(request_id: str, comment: str, etag: str, caller_id: str, uow: SamplesUnitOfWork,
            clock: Clock = utc_now) -> model.SampleRequest:
    return access.change(request_id, etag, caller_id, uow, clock,
                         lambda r, v, now: r.approve(v.user_id, comment.strip(), now))


def reject(request_id: str, comment: str, etag: str, caller_id: str, uow: SamplesUnitOfWork,
           clock: Clock = utc_now) -> model.SampleRequest:
    return access.change(request_id, etag, caller_id, uow, clock, lambda r, v, now: r.reject(v.user_id, comment, now))


def withdraw(request_id: str, reason: str, etag: str, caller_id: str, uow: SamplesUnitOfWork,
             clock: Clock = utc_now) -> model.SampleRequest:
    return access.change(request_id, etag, caller_id, uow, clock, lambda r, v, now: r.withdraw(v.user_id, reason, now))
