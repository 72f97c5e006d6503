"""A traffic split's report, from the audit log: per arm, for a period, how many requests
and rows, how fast, and what was predicted (the audit log's summaries of answers)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from services.access.audit import OK, AuditLog, Source
from services.access.caller import Caller
from services.monitor.periods import iso_utc
from services.monitor.split import ACTION
from services.registry.access import ModelAccess


@dataclass
class ArmTraffic:
    arm: str
    requests: int = 0
    failed: int = 0
    rows: int = 0
    versions: set[str] = field(default_factory=set)
    latencies: list[float] = field(default_factory=list)
    classes: Counter = field(default_factory=Counter)
    numbers: dict[str, float] = field(default_factory=dict)

    def add(self, record: dict[str, Any]) -> None:
        self.requests += 1
        if record["outcome"] != OK:
            self.failed += 1
            return
        self.rows += record["input_rows"] or 0
        if record["version"]:
            self.versions.add(record["version"])
        if record["latency_ms"] is not None:
            self.latencies.append(record["latency_ms"])
        self._outputs(record.get("outputs"))

    def _outputs(self, raw: str | None) -> None:
        try:
            summary = json.loads(raw) if raw else {}
        except ValueError:
            return
        self.classes.update(summary.get("classes", {}))
        numbers = summary.get("numbers")
        if numbers:
            known = self.numbers
            self.numbers = {
                "n": known.get("n", 0) + numbers["n"],
                "sum": known.get("sum", 0.0) + numbers["sum"],
                "min": min(known.get("min", numbers["min"]), numbers["min"]),
                "max": max(known.get("max", numbers["max"]), numbers["max"]),
            }

    def to_dict(self) -> dict[str, Any]:
        latency = np.asarray(self.latencies) if self.latencies else None
        numbers = dict(self.numbers)
        if numbers:
            numbers["mean"] = numbers.pop("sum") / numbers["n"]
        return {
            "arm": self.arm,
            "requests": self.requests,
            "failed": self.failed,
            "rows": self.rows,
            "versions": sorted(self.versions, key=int),
            "latency_ms": None
            if latency is None
            else {
                "p50": float(np.percentile(latency, 50)),
                "p95": float(np.percentile(latency, 95)),
                "mean": float(latency.mean()),
            },
            "predictions": {"classes": dict(self.classes.most_common())}
            if self.classes
            else ({"numbers": numbers} if numbers else None),
        }


@dataclass
class TrafficReport:
    model: str
    since: str | None
    until: str | None
    arms: list[ArmTraffic]

    @property
    def requests(self) -> int:
        return sum(arm.requests for arm in self.arms)

    def to_dict(self) -> dict[str, Any]:
        arms = [arm.to_dict() for arm in self.arms]
        return {
            "model": self.model,
            "since": self.since,
            "until": self.until,
            "requests": self.requests,
            "arms": arms,
        }


class TrafficService:
    def __init__(self, audit: AuditLog, access: ModelAccess) -> None:
        self.audit = audit
        self.access = access

    def report(
        self,
        caller: Caller,
        name: str,
        since: str | None = None,
        until: str | None = None,
        source: Source = Source.API,
    ) -> TrafficReport:
        """Every split request to ``name`` from ``since`` to ``until`` (ISO times, UTC),
        whoever sent it: counts only, for a caller who may see the model."""
        model = self.access.model_detail(caller, name, source).summary.name
        since, until = iso_utc(since), iso_utc(until)
        arms: dict[str, ArmTraffic] = {}
        for record in self.audit.rows(model=model, action=ACTION):
            if (since and record["time"] < since) or (until and record["time"] > until):
                continue
            arm = record.get("arm") or "?"
            arms.setdefault(arm, ArmTraffic(arm)).add(record)
        return TrafficReport(model, since, until, sorted(arms.values(), key=lambda a: a.arm))
