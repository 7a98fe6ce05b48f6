"""Channel adapters: one module per server kind, each implementing ``domain.channels.Sender``."""
