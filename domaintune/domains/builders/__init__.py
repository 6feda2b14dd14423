"""Builders turn a real source (a Debian dictionary package) into a shipped domain folder."""
