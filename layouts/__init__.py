"""Pure functions that build components. No I/O, no callbacks."""
