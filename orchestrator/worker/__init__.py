"""The worker process: a scheduler pass (scheduled campaigns, expiry, reminders, mail), then job
cycles through ansible-runner, until stopped or, with `until_empty`, until nothing is due.

Several workers, on one or several machines, share the queue through the database.
"""
