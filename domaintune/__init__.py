"""domaintune: find the best way to specialize an LLM to a domain, and learn across domains."""

__version__ = "0.1.0"
