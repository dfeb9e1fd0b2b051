"""Batch entry points run at night or on demand: the business day close, the ledger export.

They work set-wise (SQL over a whole county bank, columnar frames), never loan by loan through
the ORM, and report progress per county bank.
"""
