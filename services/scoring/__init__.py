"""Turning input into predictions: parsing, validation against the signature, loaded models,
and the one path every table is scored by."""
