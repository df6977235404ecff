"""Jobs: one browser-automation task per employee per policy, and the runs that execute them.

Owns the `jobs` and `runs` tables: the queue workers claim from, with leases so that a killed
worker's jobs are picked up again.
"""
