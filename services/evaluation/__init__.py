"""Evaluation against the truth: predictions set against a label column, chunk by chunk."""
