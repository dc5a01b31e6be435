"""Tests that drive the integration through Home Assistant against the simulator."""
