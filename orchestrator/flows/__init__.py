"""Cross-domain steps: turning directory rows, stored sessions and policies into engine tasks.

Flows may use every room below them (employees, policies, the engine, the replica); the rooms
never import flows. The CLI, the worker and the demo call the same flows.
"""
