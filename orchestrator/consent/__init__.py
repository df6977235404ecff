"""Consent: each employee's recorded decision, asked for by a signed, single-use email link.

Owns the `consents` table. Nothing runs on an employee's account without an approved row here.
"""
