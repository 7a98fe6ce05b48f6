"""Feedback on a sample in trial: raised, updated and closed by the people around the request."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from samples.domain import model
from samples.service_layer import access
from samples.service_layer.unit_of_work import SamplesUnitOfWork
from shangji_kit import fieldmask, paging
from shangji_kit.clock import Clock, utc_now
from shangji_kit.errors import Aborted, InvalidArgument, NotFound, PermissionDenied


def _active_assignee(uow: SamplesUnitOfWork, assignee: str | None, field_name: str) -> str:
    if not assignee or not uow.org.is_active(assignee):
        raise InvalidArgument.field(field_name, "must be an active user (users/{id})")
    return assignee


def raise_feedback(request_id: str, summary: str, detail: str, assignee_id: str | None, caller_id: str,
                   uow: SamplesUnitOfWork, clock: Clock = utc_now) -> model.Feedback:
    now = clock()
    with uow:
        request, viewer = access.visible(uow, request_id, caller_id, for_update=True)
        assignee = _active_assignee(uow, assignee_id, "feedback.assignee")
        fb = model.raise_feedback(id=str(uuid.uuid4()), request=request, summary=summary, detail=detail,
                                  assignee_id=assignee, raised_by=viewer.user_id, now=now)
        uow.feedback.add(fb)
        uow.add(model.FeedbackRaised(request, fb))
        uow.commit()
    return fb


def _editable(uow: SamplesUnitOfWork, request_id: str, feedback_id: str, etag: str, caller_id: str
              ) -> tuple[model.SampleRequest, model.Feedback]:
    request, viewer = access.visible(uow, request_id, caller_id)
    fb = uow.feedback.get(request_id, feedback_id)
    if fb is None:
        raise NotFound(f"sampleRequests/{request_id}/feedback/{feedback_id}")
    if (not request.follows_up(viewer.user_id) and viewer.user_id not in (fb.assignee_id, fb.raised_by)
            and not viewer.sees_everything):
        raise PermissionDenied(f"only the requester, the request's owner, the assignee, who raised it, sales_ops or "
                               f"admin change {fb.name}",
                               reason="NOT_A_FEEDBACK_EDITOR", metadata={"resource": fb.name})
    fb.check_etag(etag)
    return request, fb


FEEDBACK_PATHS = ("summary", "detail", "assignee")


def update_feedback(request_id: str, feedback_id: str, mask: tuple[str, ...], summary: str, detail: str,
                    assignee_id: str | None, etag: str, caller_id: str, uow: SamplesUnitOfWork,
                    clock: Clock = utc_now) -> model.Feedback:
    paths = fieldmask.check(mask, FEEDBACK_PATHS)
    now = clock()
    with uow:
        request, fb = _editable(uow, request_id, feedback_id, etag, caller_id)
        assignee = _active_assignee(uow, assignee_id, "feedback.assignee") if "assignee" in paths else None
        version = fb.version
        fb.update(summary=summary if "summary" in paths else None, detail=detail if "detail" in paths else None,
                  assignee_id=assignee, now=now)
        if not uow.feedback.update(fb, version):
            raise Aborted(f"{fb.name} changed concurrently; re-read it", reason="CONCURRENT_UPDATE")
        uow.add(model.FeedbackUpdated(request, fb))
        uow.commit()
    return fb


def close_feedback(request_id: str, feedback_id: str, resolution: str, etag: str, caller_id: str,
                   uow: SamplesUnitOfWork, clock: Clock = utc_now) -> model.Feedback:
    now = clock()
    with uow:
        request, fb = _editable(uow, request_id, feedback_id, etag, caller_id)
        version = fb.version
        fb.close(resolution, now)
        if not uow.feedback.update(fb, version):
            raise Aborted(f"{fb.name} changed concurrently; re-read it", reason="CONCURRENT_UPDATE")
        uow.add(model.FeedbackClosed(request, fb))
        uow.commit()
    return fb


@dataclass(frozen=True)
class FeedbackPage:
    feedback: list[model.Feedback]
    next_page_token: str


def list_feedback(request_id: str, page_size: int, page_token: str, caller_id: str,
                  uow: SamplesUnitOfWork) -> FeedbackPage:
    limit = paging.page_size(page_size)
    after = paging.decode_token(page_token)
    with uow:
        access.visible(uow, request_id, caller_id)
        rows = uow.feedback.list(request_id, limit + 1, after)
    page = rows[:limit]
    return FeedbackPage(page, paging.encode_token(page[-1].create_time, page[-1].id) if len(rows) > limit else "")
