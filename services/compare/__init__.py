"""Two or more versions of one model on the same rows."""
