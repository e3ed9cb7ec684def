"""The delivery stage (being moved here by the layout change; fairness lives here already)."""
