"""Consent: each employee's recorded decision, asked for by signed, single-purpose email links.

Owns the `consents` and `consent_links` tables. Nothing runs on an employee's account without an
approved row here: approving queues one job per applicable policy in the same transaction,
revoking cancels the jobs still waiting. `links` signs and checks the tokens (only their SHA-256
is stored), `explanation` renders the exact text an employee decides on (its hash is recorded
with the decision), and `service` holds the operations: request, remind, decide, revoke, expire,
cancel, and the receipt sent once an opt-out is verified.
"""
