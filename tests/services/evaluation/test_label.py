"""The label column the console offers first for a labelled file."""

from __future__ import annotations

from services.registry.demo import IRIS_MODEL


def test_a_misspelt_input_is_not_offered_as_the_label(services, caller):
    """The one column no version reads is the label offered, unless it looks like an input
    the file lacks: then it is the input misspelt, and the other column is the label."""
    inputs = ["sepal_length", "sepal_width", "petal_length"]
    suggest = services.evaluation.suggest_label
    assert suggest(caller, IRIS_MODEL, "1", [*inputs, "petal_width", "variety"]) == "variety"
    assert suggest(caller, IRIS_MODEL, "1", [*inputs, "petal_widht", "variety"]) == "variety"
    assert suggest(caller, IRIS_MODEL, "1", [*inputs, "petal_widht"]) is None


def test_a_column_that_names_rows_is_not_offered_as_the_label(services, caller):
    inputs = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    suggest = services.evaluation.suggest_label
    for identifier in ("id", "flower_id", "Flower ID", "flowerId", "uuid", "row_key"):
        assert suggest(caller, IRIS_MODEL, "1", [*inputs, identifier]) is None, identifier
    for label in ("species", "paid", "valid", "monkey"):
        assert suggest(caller, IRIS_MODEL, "1", [*inputs, label]) == label
