"""Integrations of ccc with training frameworks (``ccc.integrations.transformers``)."""
