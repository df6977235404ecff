"""The ansible-runner adapter on the controller: one run of a playbook across fleet hosts.

It knows hosts, files and Ansible events, not jobs or employees: it hands each host its
encrypted batch, runs the play in a fresh private data directory, and returns per-host
results (the fetched archive, or why the host failed) with the run's event log.
"""
