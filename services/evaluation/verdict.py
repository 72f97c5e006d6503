"""The comparison of two versions on the same rows, and the one sentence a person can act
on: how many rows each gets right that the other does not, how large the difference is,
and whether it could be chance."""

from __future__ import annotations

from typing import Any

from services.evaluation.paired import PairedClasses, PairedErrors

SIGNIFICANCE = 0.05


def comparison_of(
    kind: str, versions: list[dict[str, Any]], paired: PairedClasses | PairedErrors | None
) -> dict[str, Any] | None:
    """The first two versions compared (second against first), or None for one version."""
    if paired is None or len(versions) < 2:
        return None
    first, second = versions[0], versions[1]
    if not first["metrics"]:
        return None
    between = [first["ref"], second["ref"]]
    if isinstance(paired, PairedClasses):
        return _classes(between, first, second, paired)
    return _errors(between, first, second, paired)


def _classes(
    between: list[str], first: dict[str, Any], second: dict[str, Any], paired: PairedClasses
) -> dict[str, Any]:
    difference = second["metrics"]["accuracy"] - first["metrics"]["accuracy"]
    low, high = paired.accuracy_interval()
    p_value = paired.p_value()
    return {
        "between": between,
        "test": "mcnemar_exact",
        "p_value": p_value,
        "discordant": {
            "only_first_right": paired.only_first_right,
            "only_second_right": paired.only_second_right,
        },
        "difference": {"accuracy": {"value": difference, "ci95": [low, high]}},
        "summary": classes_sentence(
            between,
            paired.only_second_right,
            paired.only_first_right,
            difference,
            (low, high),
            p_value,
        ),
    }


def classes_sentence(
    between: list[str],
    gained: int,
    lost: int,
    difference: float,
    ci95: tuple[float, float],
    p_value: float,
) -> str:
    """ "Challenger is right on 12 rows where Champion is wrong and wrong on 3 where Champion
    is right: 2.0 points more accurate (95 % CI 0.5 to 3.4), p = 0.035." and what it means."""
    first, second = between
    if gained == 0 and lost == 0:
        return (
            f"{second} and {first} are right and wrong on exactly the same rows: "
            "no difference on this file."
        )
    points = abs(difference) * 100
    direction = "more" if difference > 0 else "less" if difference < 0 else "as"
    size = f"{points:.1f} points {direction} accurate" if direction != "as" else "as accurate"
    low, high = ci95[0] * 100, ci95[1] * 100
    sentence = (
        f"{second} is right on {gained:,} {_rows(gained)} where {first} is wrong and wrong on "
        f"{lost:,} where {first} is right: {size} (95 % CI {low:.1f} to {high:.1f}), "
        f"p {_p(p_value)}"
    )
    if p_value < SIGNIFICANCE:
        better = second if difference > 0 else first
        return f"{sentence}. The difference is unlikely to be chance: {better} is better here."
    if low > 0 or high < 0:  # the bootstrap is surer than the exact test on so few rows
        return (
            f"{sentence}. The interval leaves out no difference, but on {gained + lost:,} "
            f"{_rows(gained + lost)} where they differ the exact test cannot rule out chance: "
            "more labelled rows would tell."
        )
    return f"{sentence}. This could be chance: more labelled rows would tell."


def _errors(
    between: list[str], first: dict[str, Any], second: dict[str, Any], paired: PairedErrors
) -> dict[str, Any]:
    mae = second["metrics"]["mae"] - first["metrics"]["mae"]
    rmse = second["metrics"]["rmse"] - first["metrics"]["rmse"]
    mae_ci, rmse_ci = paired.mae_interval(), paired.rmse_interval()
    return {
        "between": between,
        "test": "paired_bootstrap",
        "p_value": None,
        "difference": {
            "mae": {"value": mae, "ci95": mae_ci},
            "rmse": {"value": rmse, "ci95": rmse_ci},
        },
        "summary": errors_sentence(between, mae, mae_ci, rmse, rmse_ci),
    }


def errors_sentence(
    between: list[str], mae: float, mae_ci: list[float], rmse: float, rmse_ci: list[float]
) -> str:
    first, second = between
    parts = [
        f"{second}'s MAE is {abs(mae):,.4g} {'lower' if mae < 0 else 'higher'} than {first}'s "
        f"(95 % CI {mae_ci[0]:,.4g} to {mae_ci[1]:,.4g})",
        f"its RMSE {abs(rmse):,.4g} {'lower' if rmse < 0 else 'higher'} "
        f"(95 % CI {rmse_ci[0]:,.4g} to {rmse_ci[1]:,.4g})",
    ]
    if mae_ci[1] < 0 and rmse_ci[1] < 0:
        verdict = f"{second} is closer to the truth."
    elif mae_ci[0] > 0 and rmse_ci[0] > 0:
        verdict = f"{first} is closer to the truth."
    else:
        verdict = "The intervals include no difference: this could be chance."
    return f"{parts[0]} and {parts[1]}: {verdict}"


def _rows(count: int) -> str:
    return "row" if count == 1 else "rows"


def _p(value: float) -> str:
    return "< 0.001" if value < 0.001 else f"= {value:.3g}"
