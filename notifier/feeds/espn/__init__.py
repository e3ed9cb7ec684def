"""ESPN's site API: parse scoreboards and match summaries."""
