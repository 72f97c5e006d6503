"""Users' files: their own area on disk, reading CSV tables, writing results (CSV, Parquet),
and scoring a stored file on the one table path."""
