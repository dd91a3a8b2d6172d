"""Utilities shared by the engine: distributed helpers, logging, metrics events, environment info."""
