"""Who may use the bridge's API: sales ops and admins (teams' users as the bridge keeps them)."""

from __future__ import annotations

from erp_bridge.service_layer.unit_of_work import ErpBridgeUnitOfWork
from shangji_kit import caller
from shangji_kit.errors import PermissionDenied


def require_operator(caller_id: str, uow: ErpBridgeUnitOfWork) -> str:
    """The caller's user id; PERMISSION_DENIED unless they are an active operator. Every API use case calls this
    before it reads its input, so someone who may not use the API learns nothing about what would be valid."""
    user_id = caller.user_id(caller_id)
    if not uow.org.is_operator(user_id):
        raise PermissionDenied("only sales ops and admins manage ERP orders and mappings", reason="NOT_AN_OPERATOR")
    return user_id
