"""The end-to-end demo on embedded defaults (SQLite, local inventory, the replica, an SMTP sink).

It grows with the product: today it sets up a fresh installation in an output folder, imports
a sample directory of 60 employees, shows the directory by department and proves the audit log.
"""
