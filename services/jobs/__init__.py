"""Background scoring jobs, whatever runs them: their names, the caller they carry sealed,
and the marks that tell the page what happened to them. Dash's side is
``callbacks/background.py``."""
