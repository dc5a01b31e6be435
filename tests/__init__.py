"""Tests for the Salto KS integration, its API client and the simulator."""
