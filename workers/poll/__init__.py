"""The poll stage: fetch feeds on a schedule, diff snapshots, publish events."""
