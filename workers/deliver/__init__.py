"""The delivery stage: fan-out, retries, held-back alerts, dead letters."""
