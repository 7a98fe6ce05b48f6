"""Test support: finding the servers, per-session databases, running fronts and workers."""
