"""Settings, database engine and sessions, errors, and time: the parts every room uses.

Imports nothing else of ours, and nothing here reads the environment at import time: settings
and engines are built by whoever starts the process and passed down.
"""
