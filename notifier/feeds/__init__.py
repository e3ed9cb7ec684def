"""Feeds: the provider registry (base), the HTTP client, bulk requests, and one package
per provider with the same file names."""
