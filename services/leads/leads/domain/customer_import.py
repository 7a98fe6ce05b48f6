"""Importing customers with their contacts from a table: the columns, a row as a customer and maybe a
contact, the report. Plain Python; the table's generic parts are the kit's ``table_import``, matching
existing customers and writing is the service layer's (``service_layer.customer_import``).

One contact per row; rows of the same company and region (``customers.Customer.keys``) are one customer.
"""

from __future__ import annotations

from dataclasses import dataclass

from leads.domain import customers
from leads.domain.dedupe import company_key, region_key
from shangji_kit import table_import
from shangji_kit.errors import FieldViolation, InvalidArgument

CONTACT_COLUMNS = ("contact_name", "contact_title", "contact_phone", "contact_email", "buying_role")
COLUMNS = table_import.Columns(
    required=("company",),
    optional=("region", "industry", "size", "grade", *CONTACT_COLUMNS),
    aliases={
        "company_name": "company", "customer": "company", "display_name": "company", "公司": "company",
        "公司名称": "company", "企业名称": "company", "客户": "company", "客户名称": "company",
        "地区": "region", "区域": "region", "行业": "industry",
        "company_size": "size", "规模": "size", "企业规模": "size", "公司规模": "size",
        "等级": "grade", "客户等级": "grade",
        "contact": "contact_name", "联系人": "contact_name", "姓名": "contact_name",
        "title": "contact_title", "job_title": "contact_title", "职位": "contact_title", "职务": "contact_title",
        "phone": "contact_phone", "mobile": "contact_phone", "电话": "contact_phone", "手机": "contact_phone",
        "手机号": "contact_phone", "email": "contact_email", "邮箱": "contact_email", "电子邮件": "contact_email",
        "role": "buying_role", "角色": "buying_role", "采购角色": "buying_role",
    })

# The domain's field paths as the table's columns, so a rejection names the column at fault.
_COLUMN_OF = {
    "customer.display_name": "company", "customer.region": "region", "customer.industry": "industry",
    "customer.size": "size", "customer.grade": "grade", "contact.display_name": "contact_name",
    "contact.title": "contact_title", "contact.phone": "contact_phone", "contact.email": "contact_email",
    "contact.buying_role": "buying_role",
}


@dataclass(frozen=True)
class CustomerRow:
    """A valid row: the customer's fields (cleaned) and the contact's, when the row names one."""

    row_number: int
    customer: dict[str, str]
    contact: dict | None

    @property
    def keys(self) -> tuple[str, str]:
        return company_key(self.customer["display_name"]), region_key(self.customer["region"])


def parse_row(row_number: int, values: list[str], positions: dict[str, int], grades: tuple[str, ...]
              ) -> CustomerRow | list[table_import.Rejection]:
    """The customer (and contact) a row describes, or every reason it cannot be (named by column)."""
    bad_cells = table_import.nul_rejections(row_number, values, positions)
    if bad_cells:
        return bad_cells

    def value(name: str) -> str:
        return table_import.cell(values, positions, name)

    violations: list[FieldViolation] = []
    customer = contact = None
    try:
        customer = customers.clean_customer_fields({"display_name": value("company"), "region": value("region"),
                                                    "industry": value("industry"), "size": value("size"),
                                                    "grade": value("grade")}, grades)
    except InvalidArgument as exc:
        violations += exc.violations
    if any(value(c).strip() for c in CONTACT_COLUMNS):
        try:
            contact = customers.clean_contact_fields({
                "display_name": value("contact_name"), "title": value("contact_title"),
                "phone": value("contact_phone"), "email": value("contact_email"),
                "buying_role": value("buying_role"), "attitude": "", "satisfaction": 0})
            if not contact["phone"] and not contact["email"]:
                violations.append(FieldViolation("contact.phone", "a contact needs a phone or an email"))
        except InvalidArgument as exc:
            violations += exc.violations
    if violations:
        return table_import.rejections(row_number, InvalidArgument(violations), _COLUMN_OF)
    return CustomerRow(row_number, customer, contact)


@dataclass
class CustomersImportReport(table_import.ImportReport):
    customers_created: int = 0
    # Rows whose company was an existing customer (its contacts were added to it).
    customers_matched: int = 0
    contacts_created: int = 0
