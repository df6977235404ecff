"""Campaigns: an admin's decision to apply chosen policies to a scope of employees.

Owns the `campaigns` and `exemptions` tables; launching a campaign asks each employee for consent.
"""
