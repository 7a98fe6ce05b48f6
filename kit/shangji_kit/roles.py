"""Teams' role names the other services decide on, once (plain values: a domain may import them)."""

# See every record of their service.
GLOBAL_ROLES = frozenset({"sales_ops", "admin"})
# May own sales records (leads, deals).
SALES_ROLES = frozenset({"sales_rep", "sales_manager"})
