"""Fault-injection soak of the integration against the simulator."""
