"""Reading users' CSV files and writing downloads that a spreadsheet cannot execute."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from services.errors import InvalidInput
from services.files.csv_io import iter_csv, neutralise_formulas, write_csv
from services.registry.signature import ColumnInfo, SignatureInfo

SIGNATURE = SignatureInfo(
    columns=[ColumnInfo("postcode", "string", True), ColumnInfo("amount", "double", True)],
    present=True,
)


@pytest.fixture
def read_csv(tmp_path):
    """A stored file read whole, the way scoring reads it (in chunks)."""

    def read(raw: bytes, signature: SignatureInfo) -> pd.DataFrame:
        path = tmp_path / "upload.data"
        path.write_bytes(raw)
        return pd.concat(iter_csv(path, signature, chunk_rows=1000))

    return read


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"", "The CSV file is empty"),
        (b"   \n", "The CSV file is empty"),
        (b"postcode,amount\n", "has a header but no rows"),
        (b"postcode,amount\n01234,1.5\n02000,2.5,9\n", "Expected 2 fields in line 3, saw 3"),
        ("postcode,amount\nK\xf6ln,1\n".encode("latin-1"), "not UTF-8"),
    ],
    ids=["empty", "blank", "header-only", "ragged", "latin-1"],
)
def test_unreadable_files_get_a_clear_message(read_csv, raw, words):
    with pytest.raises(InvalidInput) as error:
        read_csv(raw, SIGNATURE)
    assert words in str(error.value)


def test_text_columns_stay_text(read_csv):
    frame = read_csv(b"postcode,amount\n01234,1.5\n", SIGNATURE)
    assert frame.loc[0, "postcode"] == "01234"
    assert frame.loc[0, "amount"] == 1.5


@pytest.mark.parametrize("separator", [";", "\t", "|"])
def test_other_separators_are_detected(read_csv, separator):
    raw = f"postcode{separator}amount\n01234{separator}1.5\n".encode()
    assert read_csv(raw, SIGNATURE).columns.tolist() == ["postcode", "amount"]


def test_excel_byte_order_mark_is_dropped(read_csv):
    raw = "\ufeffpostcode,amount\n01234,1.5\n".encode()
    assert read_csv(raw, SIGNATURE).columns.tolist() == ["postcode", "amount"]


def test_formulas_in_text_cells_are_neutralised_numbers_untouched():
    frame = pd.DataFrame(
        {
            "note": ['=HYPERLINK("x")', "+1", "-cmd", "@SUM(A1)", "\tx", "\rx", "plain", "-2+3"],
            "delta": [-1.5, 2.0, -3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
        }
    )
    safe = neutralise_formulas(frame)
    assert safe["note"].tolist() == [
        '\'=HYPERLINK("x")',
        "+1",  # a number to a spreadsheet, as it is in the person's own file
        "'-cmd",
        "'@SUM(A1)",
        "'\tx",
        "'\rx",
        "plain",
        "'-2+3",
    ]
    assert safe["delta"].tolist() == frame["delta"].tolist()
    assert frame["note"].iloc[0].startswith("=")  # the original is not modified


def test_formula_column_names_are_neutralised_too():
    buffer = io.BytesIO()
    write_csv(pd.DataFrame({"=cmd()": ["a"]}), buffer)
    written = buffer.getvalue().decode()
    assert written.splitlines()[0] == '"\'=cmd()"'


def test_full_width_formula_signs_are_neutralised():
    frame = pd.DataFrame(
        {"note": ['\uff1dHYPERLINK("x")', "\uff0b1", "\uff0dcmd", "\uff20SUM(A1)"]}
    )
    assert all(cell.startswith("'") for cell in neutralise_formulas(frame)["note"])


def test_categorical_columns_are_neutralised():
    frame = pd.DataFrame({"label": pd.Categorical(['=HYPERLINK("x")', "setosa"])})
    assert neutralise_formulas(frame)["label"].tolist() == ['\'=HYPERLINK("x")', "setosa"]
