"""Admin accounts: the people (and API tokens) allowed into the admin service, with their role."""
