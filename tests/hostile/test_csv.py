"""Hostile CSV bodies: POST …/predict as text/csv, and upload + score + download."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.registry.demo import CHURN_MODEL, IRIS_FEATURES, IRIS_MODEL
from tests.conftest import SETOSA
from tests.hostile.corpus import (
    CHURN_FEATURES,
    FORMULA,
    IRIS_HEADER,
    Guard,
    churn_csv,
    examples,
    iris_csv,
)

# ---------------------------------------------------------------------------------------------
# CSV bodies: POST …/predict as text/csv, and upload + score + download
# ---------------------------------------------------------------------------------------------


def parquet_bytes() -> bytes:
    buffer = io.BytesIO()
    pd.DataFrame({name: [SETOSA[name]] for name in IRIS_FEATURES}).to_parquet(buffer)
    return buffer.getvalue()


CSV_CASES: dict[str, tuple[str, bytes]] = {
    "random bytes": ("iris", bytes((i * 7919 + 13) % 256 for i in range(600))),
    "binary junk": ("iris", bytes(range(256)) * 4),
    "parquet as csv": ("iris", parquet_bytes()),
    "utf-8 bom": ("iris", b"\xef\xbb\xbf" + iris_csv("1,2,3,4")),
    "utf-16 bom": ("iris", (IRIS_HEADER + "\n1,2,3,4\n").encode("utf-16")),
    "ragged rows": ("iris", iris_csv("1,2,3", "1,2,3,4,5,6")),
    "only separators": ("iris", b",,,,\n,,,,\n,,,,\n"),
    "only semicolons": ("iris", b";;;;\n;;;\n"),
    "only a newline": ("iris", b"\n\n\n"),
    "empty": ("iris", b""),
    "header only": ("iris", iris_csv()),
    "enormous number field": ("iris", iris_csv("1,2,3," + "9" * 2_000_000)),
    "enormous text field": (
        "iris",
        (f'note,{IRIS_HEADER}\n"{"x" * 2_000_000}",1,2,3,4\n').encode(),
    ),
    "formula cell": ("iris", iris_csv(f"{FORMULA},2,3,4")),
    "formula passthrough": ("iris", (f'note,{IRIS_HEADER}\n"{FORMULA}",1,2,3,4\n').encode()),
    "formula header": ("iris", (f'"{FORMULA}",{IRIS_HEADER}\n1,1,2,3,4\n').encode()),
    "formula variants": (
        "iris",
        (f"a,b,c,d,{IRIS_HEADER}\n=1+1,+1+1,@SUM(A1),-1+1,1,2,3,4\n").encode(),
    ),
    "tab and cr formulas": ("iris", (f'a,b,{IRIS_HEADER}\n"\t=1","\r=1",1,2,3,4\n').encode()),
    "quotes": ("iris", iris_csv('"1","2""","3",4')),
    "unterminated quote": ("iris", iris_csv('"1,2,3,4')),
    "nul in a cell": ("iris", iris_csv("1\x00,2,3,4")),
    "nul in the header": (
        "iris",
        b"sepal_length\x00,sepal_width,petal_length,petal_width\n1,2,3,4\n",
    ),
    "inf -inf nan 1e400": ("iris", iris_csv("inf,-inf,nan,1e400")),
    "inf": ("iris", iris_csv("inf,1,1,1")),
    "Infinity": ("iris", iris_csv("Infinity,1,1,1")),
    "1e400": ("iris", iris_csv("1e400,1,1,1")),
    "1.7e308": ("iris", iris_csv("1.7e308,1,1,1")),
    "20 nines": ("iris", iris_csv("99999999999999999999,1,1,1")),
    "negative 20 nines": ("iris", iris_csv("-99999999999999999999,1e-400,1,1")),
    "carriage returns": ("iris", (IRIS_HEADER + "\r1,2,3,4\r").encode()),
    "duplicate columns": (
        "iris",
        b"sepal_length,sepal_length,sepal_width,petal_length,petal_width\n1,1,2,3,4\n",
    ),
    "mixed separators": ("iris", b"sepal_length;sepal_width,petal_length|petal_width\n1;2,3|4\n"),
    "latin-1 further down": ("iris", iris_csv(*["1,2,3,4"] * 2000) + "é,1,1,1\n".encode("latin-1")),
    "5000 columns": (
        "iris",
        (
            ",".join(f"c{i}" for i in range(5000))
            + f",{IRIS_HEADER}\n"
            + ",".join(["1"] * 5004)
            + "\n"
        ).encode(),
    ),
    "long: inf": ("churn", churn_csv("inf,1,1,1,Paris,true")),
    "long: 1e400": ("churn", churn_csv("1e400,1,1,1,Paris,true")),
    "long: 20 nines": ("churn", churn_csv("99999999999999999999,1,1,1,Paris,true")),
    "long: 2**63": ("churn", churn_csv("9223372036854775808,1,1,1,Paris,true")),
    "long: -inf, bool junk": ("churn", churn_csv("-inf,-inf,1,1,Paris,maybe")),
    "all nan": ("churn", churn_csv("nan,nan,nan,nan,nan,nan")),
    "formula city": ("churn", churn_csv(f"1,1,1,1,{FORMULA},true")),
}
CSV_ROUTES = ("predict", "upload")


def csv_round(guard: Guard, model: str, body: bytes, route: str, case: object) -> None:
    """The CSV to the model by ``route``; a result is downloaded and checked too."""
    name = IRIS_MODEL if model == "iris" else CHURN_MODEL
    if route == "predict":
        response = guard.send(
            "post", f"/api/models/{name}/1/predict", case, data=body, content_type="text/csv"
        )
        if response.status_code == 200:
            guard.csv_result(response, case)
        return
    upload = guard.send(
        "post", "/api/uploads?filename=hostile.csv", case, data=body, content_type="text/csv"
    )
    if not body:
        assert upload.status_code == 400 and "empty" in upload.get_json()["message"]
        return
    assert upload.status_code == 201, upload.status_code
    file_id = upload.get_json()["file_id"]
    scored = guard.send("post", f"/api/models/{name}/1/score/{file_id}", case)
    if scored.status_code == 200:
        result = scored.get_json()["result_file"]["file_id"]
        guard.csv_result(guard.send("get", f"/api/files/{result}", case), case)


@pytest.mark.parametrize("route", CSV_ROUTES)
@pytest.mark.parametrize(("model", "body"), CSV_CASES.values(), ids=CSV_CASES.keys())
def test_hand_picked_csv(guard, model, body, route):
    csv_round(guard, model, body, route, (model, body[:80]))
    guard.alive()


@examples(60)
@given(body=st.binary(max_size=4096), route=st.sampled_from(CSV_ROUTES))
def test_generated_csv_bytes(guard, body, route):
    csv_round(guard, "iris", body, route, body[:80])
    guard.alive(every=5)


HOSTILE_CELLS = [
    "inf",
    "-inf",
    "nan",
    "NaN",
    "1e400",
    "-1e400",
    "1e309",
    "99999999999999999999",
    "-99999999999999999999",
    "9223372036854775808",
    "1.7e308",
    FORMULA,
    "=1+1",
    "+1",
    "@SUM(1)",
    "-2+3",
    '"',
    '""',
    '"quoted"',
    "\x00",
    "",
    " ",
    "NULL",
    "n/a",
    "true",
    "FALSE",
    "\t=1",
    "\r=1",
    "5.1",
    "3",
    "007",
    ",",
    ";",
    "\ufeff",
    "😀",
    "é",
    "x" * 300,
]
VALID_CELLS = {
    "iris": [str(SETOSA[name]) for name in IRIS_FEATURES],
    "churn": ["41", "52000.0", "18", "12.5", "Paris", "true"],
}
csv_cells = st.one_of(
    st.sampled_from(HOSTILE_CELLS),
    st.text(max_size=10),
    st.floats().map(repr),
    st.integers(min_value=-(10**25), max_value=10**25).map(str),
)


@st.composite
def csv_tables(draw: st.DrawFn) -> tuple[str, bytes]:
    """A table that is nearly right for the model: shuffled, with extra columns, hostile
    cells, another separator, a BOM, other line ends, rows a field short or long."""
    model = draw(st.sampled_from(sorted(VALID_CELLS)))
    features = IRIS_FEATURES if model == "iris" else CHURN_FEATURES
    order = draw(st.permutations(range(len(features))))
    extras = draw(
        st.lists(st.sampled_from(["id", "note", FORMULA, "", features[0], "é"]), max_size=2)
    )
    header = [features[i] for i in order] + extras
    rows = []
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        row = [draw(st.just(VALID_CELLS[model][i]) | csv_cells) for i in order]
        row += [draw(csv_cells) for _ in extras]
        rows.append(row[: draw(st.integers(min_value=len(row) - 1, max_value=len(row)))])
    sep = draw(st.sampled_from([",", ";", "\t", "|"]))
    eol = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = eol.join(sep.join(cells) for cells in [header, *rows]) + draw(st.sampled_from(["", eol]))
    return model, (draw(st.sampled_from(["", "\ufeff"])) + text).encode()


@examples(40)
@given(table=csv_tables(), route=st.sampled_from(CSV_ROUTES))
def test_generated_csv_tables(guard, table, route):
    model, body = table
    csv_round(guard, model, body, route, (model, body[:200]))
    guard.alive(every=5)
