"""What the daemon keeps: window aggregates, the JSON Lines log and reports over it."""
