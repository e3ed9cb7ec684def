"""The fake provider: a recorded match served as if live, one module per provider format."""
