"""Tests of the local Salto KS cloud simulator."""
