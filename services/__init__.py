"""Everything the console does, with no Dash in it: the UI and the API are two faces of it."""
