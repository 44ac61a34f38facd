"""Shared fixtures and the skip rules for tests that need optional tools."""
