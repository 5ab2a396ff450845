"""Columnar batches in and out of ``aclarifai.ray.ClarifaiChat``: no I/O, no event loop.

A Ray Data batch comes as a dict of numpy arrays (Ray's default format), a ``pandas.DataFrame``
or a ``pyarrow.Table``. ``Columns`` reads any of them as Python values, ``Prompts`` turns a row's
columns into the messages list to send (or the ``ValueError``/``TypeError`` that says why that
row cannot be sent), and ``output_table`` builds the result: the passthrough columns, then one
column per ``ROW_COLUMNS`` key with a fixed Arrow type, so every block has the same schema.

Arrow stores a column of message dicts as structs with one field per key seen anywhere in the
column; a message without a key gets a null there. ``plain()`` drops those nulls (and turns the
numpy arrays Ray gives for list cells back into lists), so a message goes out as it was written.
"""

from __future__ import annotations

import string
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import orjson
import pyarrow as pa

from .batch import ROW_COLUMNS, BatchItem
from .errors import ConfigurationError

__all__ = ["Columns", "Prompts", "output_table", "plain"]

ROW_TYPES: dict[str, pa.DataType] = {
    "index": pa.int64(), "content": pa.string(), "finish_reason": pa.string(),
    "tool_calls": pa.string(), "prompt_tokens": pa.int64(), "completion_tokens": pa.int64(),
    "model": pa.string(), "latency": pa.float64(), "error_type": pa.string(),
    "error_message": pa.string(), "status_code": pa.int64(), "error_code": pa.string(),
    "request_id": pa.string(),
}
"""The Arrow type of each output column but ``key`` (the key column's own type, or int64)."""


def plain(value: Any) -> Any:
    """``value`` as plain Python: arrays as lists, numpy scalars unwrapped, null dict keys dropped."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _is_dataframe(batch: object) -> bool:
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(batch, pandas.DataFrame)


class Columns:
    """One batch, whatever its format: its column names, row count and Python values."""

    def __init__(self, batch: Any) -> None:
        if isinstance(batch, pa.Table):
            self.kind = "arrow"
            self.names = list(batch.column_names)
            self.rows = batch.num_rows
        elif _is_dataframe(batch):
            self.kind = "pandas"
            self.names = [str(name) for name in batch.columns]
            self.rows = len(batch)
        elif isinstance(batch, Mapping):
            self.kind = "numpy"
            self.names = [str(name) for name in batch]
            lengths = {len(column) for column in batch.values()}
            if len(lengths) > 1:
                raise ConfigurationError(f"the batch's columns differ in length: {sorted(lengths)}")
            self.rows = lengths.pop() if lengths else 0
        else:
            raise ConfigurationError(
                "ClarifaiChat takes a batch as a dict of numpy arrays, a pandas.DataFrame or a "
                f"pyarrow.Table (map_batches' batch_format), not {type(batch).__name__}"
            )
        self.batch = batch

    def require(self, names: Sequence[str], why: str) -> None:
        missing = [name for name in names if name not in self.names]
        if missing:
            raise ConfigurationError(
                f"{why}: the batch has no column {', '.join(map(repr, missing))} "
                f"(its columns: {', '.join(map(repr, self.names)) or 'none'})"
            )

    def values(self, name: str) -> list[Any]:
        """The column's cells as Python objects (list cells may still be numpy arrays)."""
        batch = self.batch
        if self.kind == "arrow":
            values: list[Any] = batch.column(name).to_pylist()
            return values
        if self.kind == "pandas":
            return list(batch[name].tolist())
        return list(np.asarray(batch[name], dtype=object))

    def table(self, names: Sequence[str]) -> pa.Table:
        """These columns as an Arrow table (list cells as Arrow lists, dict cells as structs)."""
        batch = self.batch
        if not names:
            return pa.table({})
        if self.kind == "arrow":
            return batch.select(list(names))
        if self.kind == "pandas":
            return pa.Table.from_pandas(batch[list(names)], preserve_index=False)
        return pa.Table.from_arrays([_arrow(name, batch[name]) for name in names], names=list(names))


def _arrow(name: str, column: Any) -> pa.Array:
    """A numpy column as Arrow: directly, or through plain Python for object cells."""
    try:
        return pa.array(column)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        pass
    try:
        return pa.array(plain(list(column)))
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        raise ConfigurationError(
            f"column {name!r} cannot be passed through as Arrow ({exc}): leave it out of passthrough="
        ) from None


def template_fields(template: str) -> list[str]:
    """The column names a ``str.format`` template refers to (``{text}``, ``{row.field}``...)."""
    if not isinstance(template, str) or not template:
        raise ConfigurationError(f"template must be a non-empty str, not {template!r}")
    fields: list[str] = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ConfigurationError(f"template is not a valid str.format template: {exc}") from None
    for _, field, _, _ in parsed:
        if field is None:
            continue
        root = field.split(".", 1)[0].split("[", 1)[0]
        if not root or root.isdigit():
            raise ConfigurationError(
                f"template fields must name columns ({{text}}), not positions: {template!r}"
            )
        if root not in fields:
            fields.append(root)
    if not fields:
        raise ConfigurationError(f"template names no column: {template!r} (write e.g. '{{text}}')")
    return fields


class Prompts:
    """Where a row's messages come from: a messages column, or a prompt column and/or a template.

    ``messages_column``: each cell is a messages list (or its JSON text). ``prompt_column``: each
    cell is the user's text. ``template``: the user's text is ``template.format_map(row)``, whose
    fields are the row's columns (``{prompt}`` is the prompt column's cell, when there is one).
    ``system``: a system message put first (prompt and template modes).
    """

    def __init__(
        self,
        messages_column: str,
        prompt_column: str | None,
        template: str | None,
        system: str | None,
    ) -> None:
        for name, value in (("messages_column", messages_column), ("prompt_column", prompt_column)):
            if value is not None and (not isinstance(value, str) or not value):
                raise ConfigurationError(f"{name} must be a column name (a non-empty str), not {value!r}")
        if system is not None and not isinstance(system, str):
            raise ConfigurationError(f"system must be a str, not {system!r}")
        self.from_text = prompt_column is not None or template is not None
        if self.from_text and messages_column != "messages":
            raise ConfigurationError(
                "messages_column is for rows that hold messages; prompt_column= and template= "
                "build them from text instead: pass one or the other, not both"
            )
        if system is not None and not self.from_text:
            raise ConfigurationError("system= goes with prompt_column= or template=; "
                                     "in a messages column, put the system message in each list")
        self.messages_column = messages_column
        self.prompt_column = prompt_column
        self.template = template
        self.system = system
        fields = template_fields(template) if template is not None else []
        needed = [prompt_column] if prompt_column is not None else []
        needed += [f for f in fields if not (f == "prompt" and prompt_column is not None)]
        self.columns: list[str] = needed if self.from_text else [messages_column]

    def read(self, batch: Columns) -> list[Any]:
        """Each row's messages list, or the exception that says why it has none."""
        batch.require(self.columns, "ClarifaiChat reads its messages from there")
        cells = {name: batch.values(name) for name in self.columns}
        if not self.from_text:
            return [_messages(cell) for cell in cells[self.messages_column]]
        out: list[Any] = []
        for row in range(batch.rows):
            values = {name: cells[name][row] for name in self.columns}
            if self.prompt_column is not None:
                values["prompt"] = values[self.prompt_column]
            out.append(self._text_messages(values))
        return out

    def _text_messages(self, values: dict[str, Any]) -> Any:
        nulls = [name for name, value in values.items() if value is None]
        if nulls:
            return ValueError(f"column {nulls[0]!r} is null in this row: no prompt to send")
        if self.template is None:
            text = plain(values["prompt"])
            if not isinstance(text, str):
                return TypeError(f"a prompt must be a str, not {type(text).__name__}")
        else:
            try:
                text = self.template.format_map({k: plain(v) for k, v in values.items()})
            except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
                return ValueError(f"template does not render for this row: {type(exc).__name__}: {exc}")
        messages = [{"role": "system", "content": self.system}] if self.system is not None else []
        messages.append({"role": "user", "content": text})
        return messages


def _messages(cell: Any) -> Any:
    """A messages cell as a list of message dicts, or the exception for a cell that is none."""
    if cell is None:
        return ValueError("the messages cell is null in this row")
    if isinstance(cell, (str, bytes)):
        try:
            cell = orjson.loads(cell)
        except orjson.JSONDecodeError as exc:
            return ValueError(f"the messages cell is text but not JSON: {exc}")
    messages = plain(cell)
    if not isinstance(messages, list):
        return TypeError(f"a messages cell must be a list of messages, not {type(messages).__name__}")
    return messages


def output_table(
    batch: Columns, passthrough: Sequence[str], items: Sequence[BatchItem], keys: Sequence[Any] | None
) -> pa.Table:
    """The passthrough columns, then the ``ROW_COLUMNS`` of each item (``key``: ``keys``)."""
    table = batch.table(passthrough)
    names, arrays = list(table.column_names), list(table.columns)
    rows = [item.to_row() for item in items]
    for name in ROW_COLUMNS:
        if name == "key":
            if keys is None:
                column = pa.array([row["index"] for row in rows], pa.int64())
            else:
                column = pa.array([plain(key) for key in keys])
        else:
            values = [row[name] for row in rows]
            if name == "error_code":
                values = [None if v is None else str(v) for v in values]
            column = pa.array(values, ROW_TYPES[name])
        names.append(name)
        arrays.append(column)
    return pa.Table.from_arrays(arrays, names=names)
