"""The audit log: an append-only, hash-chained record of every state change.

Every room writes here through `record()` in the same transaction as its change, so the log and
the state never disagree. `verify_chain()` recomputes every hash and names the first break.
"""
