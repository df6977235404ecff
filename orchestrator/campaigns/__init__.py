"""Campaigns: an admin's decision to apply chosen policies to a scope of employees.

Owns the `campaigns` and `exemptions` tables. `service` creates a campaign (policies, scope,
deadline, reminder cadence, a start time in a time zone or none), launches it — deciding per
employee and policy from the policies' dated rules who is exempt (recorded with rule and source)
and asking everyone else for consent by email — and pauses, resumes, cancels, reminds, expires and
reports on it. `launch_due_campaigns`, `remind_due` and `expire_overdue` (together: `run_due`)
are what a scheduler calls; the CLI and the web app call the same functions. `timing` reads the
durations and times people type.
"""
