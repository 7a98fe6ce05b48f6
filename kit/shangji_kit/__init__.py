"""Shangji's shared kit: the one way each cross-cutting concern is done in every service."""
