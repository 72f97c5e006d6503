"""The JSON a Dash page sends when a button is clicked, built by hand: to send it as someone
else would (a forged store, another page load) and see what the server answers."""

from __future__ import annotations

from typing import Any


def click_request(
    app: Any, outputs: tuple[str, ...], button: str, states: list[tuple[str, str, Any]]
) -> dict[str, Any]:
    """The callback request for ``button``'s n_clicks, for the callback whose outputs
    include all of ``outputs`` ("id.prop"), with ``states`` as (id, prop, value)."""
    output = next(key for key in app.callback_map if all(part in key for part in outputs))
    return {
        "output": output,
        "outputs": [
            {"id": part.split(".")[0], "property": part.split(".", 1)[1]}
            for part in output.strip(".").split("...")
        ],
        "inputs": [{"id": button, "property": "n_clicks", "value": 1}],
        "state": [{"id": i, "property": p, "value": v} for i, p, v in states],
        "changedPropIds": [f"{button}.n_clicks"],
    }
