"""Monitoring what users score: traffic splits between versions, their traffic, and drift."""
