"""The mapping tables operators keep: our product codes to the ERP's, our customers to ERP parties.

Every call checks the operator before it reads its input (names, codes, page tokens).
"""

from __future__ import annotations

from erp_bridge.domain.model import CustomerMapping, ProductMapping
from erp_bridge.service_layer.operators import require_operator
from erp_bridge.service_layer.unit_of_work import ErpBridgeUnitOfWork
from shangji_kit import names, paging
from shangji_kit.clock import Clock, utc_now
from shangji_kit.errors import FieldViolation, InvalidArgument, NotFound

MAX_CODE_LENGTH = 100
PRODUCT_PREFIX = "productMappings/"


def _check_code(field: str, value: str) -> list[FieldViolation]:
    if not value.strip():
        return [FieldViolation(field, "required")]
    if len(value) > MAX_CODE_LENGTH or value != value.strip():
        return [FieldViolation(field, f"at most {MAX_CODE_LENGTH} characters, no surrounding spaces")]
    return []


def product_of(name: str, field: str) -> str:
    """Our product code of ``productMappings/{product code}``."""
    if not name.startswith(PRODUCT_PREFIX) or len(name) == len(PRODUCT_PREFIX):
        raise InvalidArgument.field(field, "must look like productMappings/{product code}")
    return name[len(PRODUCT_PREFIX):]


def customer_of(name: str, field: str) -> str:
    """Our ``customers/{id}`` of ``customerMappings/{id}``."""
    return names.format("customers", names.parse(name, "customerMappings", field))


def upsert_product_mapping(name: str, erp_product_code: str, caller_id: str, uow: ErpBridgeUnitOfWork,
                           clock: Clock = utc_now) -> ProductMapping:
    with uow:
        require_operator(caller_id, uow)
        violations: list[FieldViolation] = []
        try:
            product = product_of(name, "mapping.name")
            violations += _check_code("mapping.name", product)
        except InvalidArgument as exc:
            product, violations = "", violations + exc.violations
        violations += _check_code("mapping.erp_product_code", erp_product_code)
        if violations:
            raise InvalidArgument(violations)
        mapping = ProductMapping(product=product, erp_product_code=erp_product_code, update_time=clock())
        uow.mappings.upsert_product(mapping)
        uow.commit()
    return mapping


def delete_product_mapping(name: str, caller_id: str, uow: ErpBridgeUnitOfWork) -> None:
    with uow:
        require_operator(caller_id, uow)
        product = product_of(name, "name")
        if not uow.mappings.delete_product(product):
            raise NotFound(f"productMappings/{product}")
        uow.commit()


def upsert_customer_mapping(name: str, erp_party_code: str, caller_id: str, uow: ErpBridgeUnitOfWork,
                            clock: Clock = utc_now) -> CustomerMapping:
    with uow:
        require_operator(caller_id, uow)
        violations: list[FieldViolation] = []
        try:
            customer = customer_of(name, "mapping.name")
        except InvalidArgument as exc:
            customer, violations = "", violations + exc.violations
        violations += _check_code("mapping.erp_party_code", erp_party_code)
        if violations:
            raise InvalidArgument(violations)
        mapping = CustomerMapping(customer=customer, erp_party_code=erp_party_code, derived=False,
                                  update_time=clock())
        uow.mappings.upsert_customer(mapping)
        uow.commit()
    return mapping


def delete_customer_mapping(name: str, caller_id: str, uow: ErpBridgeUnitOfWork) -> None:
    with uow:
        require_operator(caller_id, uow)
        customer = customer_of(name, "name")
        if not uow.mappings.delete_customer(customer):
            raise NotFound("customerMappings/" + customer.removeprefix("customers/"))
        uow.commit()


def list_product_mappings(page_size: int, page_token: str, caller_id: str, uow: ErpBridgeUnitOfWork) -> paging.Page:
    with uow:
        require_operator(caller_id, uow)
        size = paging.page_size(page_size)
        items = uow.mappings.product_page(size + 1, paging.decode_key_token(page_token) or "")
    more = len(items) > size
    items = items[:size]
    return paging.Page(items, paging.encode_key_token(items[-1].product) if more else "")


def list_customer_mappings(page_size: int, page_token: str, caller_id: str, uow: ErpBridgeUnitOfWork) -> paging.Page:
    with uow:
        require_operator(caller_id, uow)
        size = paging.page_size(page_size)
        items = uow.mappings.customer_page(size + 1, paging.decode_key_token(page_token) or "")
    more = len(items) > size
    items = items[:size]
    return paging.Page(items, paging.encode_key_token(items[-1].customer) if more else "")
