"""Importing deals from a table: the columns, a row as a registration's fields, the report. Plain Python;
the table's generic parts are the kit's ``table_import``; each row is registered as RegisterOpportunity
registers a deal (``service_layer.deal_import``).
"""

from __future__ import annotations

from dataclasses import dataclass

from shangji_kit import table_import

TEXT_COLUMNS = ("title", "customer_company", "contact_name", "contact_phone", "contact_email", "region", "source",
                "amount", "currency", "expected_close_date", "customer", "difficulty")
COLUMNS = table_import.Columns(
    required=("title", "customer_company"),
    optional=("contact_name", "contact_phone", "contact_email", "region", "source", "amount", "currency",
              "expected_close_date", "product_lines", "customer", "difficulty"),
    aliases={
        "标题": "title", "商机": "title", "商机名称": "title", "opportunity": "title",
        "company": "customer_company", "客户": "customer_company", "客户名称": "customer_company",
        "公司": "customer_company", "公司名称": "customer_company",
        "联系人": "contact_name", "电话": "contact_phone", "手机": "contact_phone", "邮箱": "contact_email",
        "地区": "region", "区域": "region", "来源": "source", "金额": "amount", "币种": "currency",
        "预计成交日期": "expected_close_date", "close_date": "expected_close_date",
        "产品线": "product_lines", "product_line": "product_lines", "难度": "difficulty",
    })
PRODUCT_LINE_SEPARATOR = ";"


def row_fields(values: list[str], positions: dict[str, int]) -> dict:
    """A row as RegisterOpportunity's fields: text as given, product lines split on ";" (a full-width "；" too)."""
    fields = {name: table_import.cell(values, positions, name).strip() for name in TEXT_COLUMNS}
    lines = table_import.cell(values, positions, "product_lines").replace("；", PRODUCT_LINE_SEPARATOR)
    fields["product_lines"] = tuple(p.strip() for p in lines.split(PRODUCT_LINE_SEPARATOR) if p.strip())
    return fields


@dataclass
class DealsImportReport(table_import.ImportReport):
    # Deals registered, queued ones included.
    accepted: int = 0
    # Of accepted, those that collided and wait for arbitration (the company's queue mode).
    queued: int = 0
