"""The fold stage: events -> match and tie state -> alerts, atomically."""
