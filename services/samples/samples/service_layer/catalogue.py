"""The product catalogue and the approval policy: managed by sales ops and admins, read by everyone.

Admin-only calls check the caller before they look at the input: someone who may not manage the
catalogue learns nothing about what would have been valid.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from samples.domain import approval, model
from samples.service_layer import access
from samples.service_layer.unit_of_work import SamplesUnitOfWork
from shangji_kit import fieldmask, paging
from shangji_kit.clock import Clock, utc_now
from shangji_kit.errors import AlreadyExists, FieldViolation, InvalidArgument, NotFound


@dataclass(frozen=True)
class ProductInput:
    code: str
    display_name: str
    unit_cost: str
    currency: str
    active: bool


PRODUCT_PATHS = ("display_name", "unit_cost", "currency", "active")


def _product_fields(p: ProductInput, paths: tuple[str, ...] | set[str]) -> dict:
    v: list[FieldViolation] = []
    out: dict = {}
    for path in paths:
        try:
            if path == "display_name":
                if not p.display_name.strip() or len(p.display_name) > model.SHORT_LIMIT:
                    raise InvalidArgument.field("product.display_name",
                                                f"required, at most {model.SHORT_LIMIT} characters")
                out[path] = p.display_name.strip()
            elif path == "unit_cost":
                out[path] = approval.parse_decimal(p.unit_cost, "product.unit_cost")
            elif path == "currency":
                out[path] = approval.parse_currency(p.currency, "product.currency")
            elif path == "active":
                out[path] = p.active
        except InvalidArgument as exc:
            v += exc.violations
    if v:
        raise InvalidArgument(v)
    return out


def create_product(p: ProductInput, caller_id: str, uow: SamplesUnitOfWork, clock: Clock = utc_now
                   ) -> model.Product:
    now = clock()
    with uow:
        access.require_admin(uow, caller_id, "the product catalogue")
        violations: list[FieldViolation] = []
        try:
            code = model.validate_product_code(p.code, "product.code")
        except InvalidArgument as exc:
            violations += exc.violations
        try:
            fields = _product_fields(p, PRODUCT_PATHS)
        except InvalidArgument as exc:
            violations += exc.violations
        if violations:
            raise InvalidArgument(violations)
        product = model.Product(code=code, create_time=now, update_time=now, **fields)
        if not uow.products.add(product):
            raise AlreadyExists(f"products/{code} exists", metadata={"resource": f"products/{code}"})
        uow.commit()
    return product


def update_product(p: ProductInput, mask: tuple[str, ...], caller_id: str, uow: SamplesUnitOfWork,
                   clock: Clock = utc_now) -> model.Product:
    now = clock()
    with uow:
        access.require_admin(uow, caller_id, "the product catalogue")
        paths = fieldmask.check(mask, PRODUCT_PATHS)
        code = model.validate_product_code(p.code, "product.name")
        fields = _product_fields(p, paths)
        current = uow.products.get(code, for_update=True)
        if current is None:
            raise NotFound(f"products/{code}")
        changed = model.Product(**{**current.__dict__, **fields, "update_time": now})
        uow.products.update(changed)
        uow.commit()
    return changed


@dataclass(frozen=True)
class ProductPage:
    products: list[model.Product]
    next_page_token: str


def list_products(page_size: int, page_token: str, show_inactive: bool, uow: SamplesUnitOfWork) -> ProductPage:
    limit = paging.page_size(page_size)
    after = paging.decode_key_token(page_token)
    with uow:
        rows = uow.products.list(limit + 1, after, show_inactive)
    page = rows[:limit]
    return ProductPage(page, paging.encode_key_token(page[-1].code) if len(rows) > limit else "")


def get_policy(uow: SamplesUnitOfWork) -> tuple[approval.Policy, datetime]:
    with uow:
        return uow.policy.get()


def replace_policy(tiers: list[approval.TierInput], currency: str, uow: SamplesUnitOfWork,
                   caller_id: str | None = None, clock: Clock = utc_now) -> tuple[approval.Policy, datetime]:
    """Replace the tiers (API: sales_ops/admin; the CLI passes no caller). Requests in flight keep their steps."""
    now = clock()
    with uow:
        if caller_id is not None:
            access.require_admin(uow, caller_id, "the approval policy")
        policy = approval.validate_policy(tiers, currency)
        uow.policy.replace(policy, now)
        uow.commit()
    return policy, now
