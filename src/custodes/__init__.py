"""Custodes: a compliance-first public safety video image information system."""

__version__ = "0.1.0"
