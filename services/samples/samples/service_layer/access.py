"""Who the caller is and what they may touch, for every samples workflow."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from samples.domain import model
from samples.service_layer.unit_of_work import SamplesUnitOfWork
from shangji_kit import caller, visibility
from shangji_kit.clock import Clock
from shangji_kit.errors import Aborted, NotFound, PermissionDenied


def viewer(uow: SamplesUnitOfWork, caller_id: str) -> visibility.Viewer:
    return uow.org.viewer(caller.user_id(caller_id))


def require_admin(uow: SamplesUnitOfWork, caller_id: str, what: str) -> None:
    if not viewer(uow, caller_id).sees_everything:
        raise PermissionDenied(f"only sales_ops and admin manage {what}", reason="NOT_A_SAMPLES_ADMIN")


def visible(uow: SamplesUnitOfWork, request_id: str, caller_id: str, *, for_update: bool = False
            ) -> tuple[model.SampleRequest, visibility.Viewer]:
    """The request and the caller's view; NOT_FOUND alike for a missing request and one they may not see."""
    who = viewer(uow, caller_id)
    request = uow.requests.get_visible(request_id, who, for_update=for_update)
    if request is None:
        raise NotFound(f"sampleRequests/{request_id}")
    return request, who


def change(request_id: str, etag: str, caller_id: str, uow: SamplesUnitOfWork, clock: Clock,
           act: Callable[[model.SampleRequest, visibility.Viewer, datetime], None]) -> model.SampleRequest:
    """Lock a visible request, check its etag, let ``act`` decide, save it with its events."""
    now = clock()
    with uow:
        request, who = visible(uow, request_id, caller_id, for_update=True)
        request.check_etag(etag)
        version = request.version
        act(request, who, now)
        if not uow.requests.update(request, version):  # the row lock makes this a guard, not a race
            raise Aborted(f"{request.name} changed concurrently; re-read it", reason="CONCURRENT_UPDATE")
        uow.publish(request.events)
        uow.commit()
    return request
