"""The employee directory: who works here, in which department and country, on which fleet host.

Owns the `employees` and `departments` tables and the all-or-nothing directory import that
keeps them in step with the HR system's export.
"""
