"""Self-tests of the rig runner."""
