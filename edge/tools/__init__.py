"""Tools for people: doctor (what is wrong) and bench (how fast)."""
