"""Scoring tables on Spark: the same scoring path, run by Spark Connect executors."""
