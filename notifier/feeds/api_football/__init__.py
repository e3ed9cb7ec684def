"""API-Football v3: parse fixtures, their events and lineups."""
