"""End-to-end tests: a real Home Assistant process and the simulator as subprocesses."""
