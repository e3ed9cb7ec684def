"""football-data.org v4: parse matches and their details."""
