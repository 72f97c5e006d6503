"""The callbacks of what several tabs share (see layouts/features)."""
