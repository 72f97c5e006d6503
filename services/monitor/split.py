"""A/B traffic splits set in the registry: the model tag ``console.traffic_split``, for
example ``Champion:90,Challenger:10`` (arms are aliases or version numbers, weights whole
numbers that need not add up to 100). The tag is re-read like an alias (after
``ALIAS_CACHE_SECONDS``), so a model owner moves traffic without a restart.

A request goes to one arm, chosen by a hash of its key: the same key always gets the same
arm while the split is unchanged, and changing the weights moves only the keys whose point
falls between the old and the new boundary.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from typing import Any

from services.access.audit import Source
from services.access.caller import Caller
from services.caching import KeyValueCache, Remembered
from services.errors import ConsoleError, InvalidInput, PermissionDenied, cut
from services.registry.access import ModelAccess
from services.scoring.service import Predictions, ScoringService

SPLIT_TAG = "console.traffic_split"
ACTION = "split-predict"
MAX_ARMS = 10
EXAMPLE = "Champion:90,Challenger:10"
_ARM = re.compile(r"^\s*([^:,\s][^:,]*?)\s*:\s*(\d{1,6})\s*$")
_SCALE = 2**60


class SplitMisconfigured(ConsoleError):
    """The tag is there but does not read: the model's owner has to fix it."""

    error_code = "TRAFFIC_SPLIT_INVALID"
    http_status = 409
    title = "Traffic split misconfigured"


class NoSplit(ConsoleError):
    error_code = "NO_TRAFFIC_SPLIT"
    http_status = 404
    title = "No traffic split"


@dataclass(frozen=True)
class Arm:
    ref: str
    weight: int


@dataclass(frozen=True)
class TrafficSplit:
    model: str
    arms: tuple[Arm, ...]

    @property
    def total(self) -> int:
        return sum(arm.weight for arm in self.arms)

    def arm_for(self, key: str) -> Arm:
        """The arm for ``key``: a point in [0, 1) from a hash of the model and the key,
        against the arms' cumulative weights."""
        digest = hashlib.sha256(f"{self.model}\0{key}".encode()).digest()
        point = int.from_bytes(digest[:8], "big") % _SCALE * self.total
        bound = 0
        for arm in self.arms:
            bound += arm.weight * _SCALE
            if point < bound:
                return arm
        return self.arms[-1]

    def to_dict(self) -> dict[str, Any]:
        total = self.total
        return {
            "model": self.model,
            "tag": SPLIT_TAG,
            "arms": [
                {"ref": a.ref, "weight": a.weight, "share": a.weight / total} for a in self.arms
            ],
        }


def parse_split(model: str, raw: str) -> TrafficSplit:
    """The split the tag describes, or ``SplitMisconfigured`` saying what to change."""
    arms, seen = [], set()
    for part in raw.split(","):
        match = _ARM.match(part)
        if not match:
            raise _misconfigured(model, raw, f"'{cut(part.strip(), 40)}' is not arm:weight")
        ref, weight = match.group(1), int(match.group(2))
        if ref in seen:
            raise _misconfigured(model, raw, f"arm {cut(ref, 40)} appears twice")
        seen.add(ref)
        if weight:
            arms.append(Arm(ref, weight))
    if not arms:
        raise _misconfigured(model, raw, "every weight is 0, so no arm would get traffic")
    if len(arms) > MAX_ARMS:
        raise _misconfigured(model, raw, f"it has more than {MAX_ARMS} arms")
    return TrafficSplit(model, tuple(arms))


def _misconfigured(model: str, raw: str, problem: str) -> SplitMisconfigured:
    return SplitMisconfigured(
        f"The traffic split of {cut(model)} (tag {SPLIT_TAG} = '{cut(raw, 60)}') does not "
        f"read: {problem}.",
        hint=f"The model's owner sets it like {EXAMPLE}: aliases or version numbers, each "
        "with a whole-number weight.",
    )


@dataclass
class SplitAnswer:
    arm: str
    key: str
    split: TrafficSplit
    predictions: Predictions

    def to_dict(self) -> dict[str, Any]:
        return {
            "arm": self.arm,
            "key": self.key,
            **self.predictions.to_dict(),
            "split": self.split.to_dict()["arms"],
        }


def request_key(header: str | None, query: str | None) -> str:
    """The caller's key (header first); without one, a fresh key: that request alone."""
    key = (header or query or "").strip()
    return key[:200] if key else uuid.uuid4().hex


class SplitService:
    def __init__(
        self, scoring: ScoringService, access: ModelAccess, cache: KeyValueCache, seconds: int
    ) -> None:
        self.scoring = scoring
        self.access = access
        self.tags = Remembered(cache, seconds)

    def split(self, caller: Caller, name: str, source: Source = Source.API) -> TrafficSplit:
        """The model's split as the caller's registry shows it, re-read like an alias."""
        parts = ("split", caller.key, self.access.settings.registry_uri, name)
        detail = lambda: self.access.model_detail(caller, name, source).summary.tags  # noqa: E731
        tags = self.access.since_moves(self.tags, parts, detail)
        raw = (tags or {}).get(SPLIT_TAG)
        if not raw:
            raise NoSplit(
                f"{cut(name)} has no traffic split.",
                hint=f"Its owner sets the model tag {SPLIT_TAG}, for example {EXAMPLE}.",
            )
        return parse_split(name, raw)

    def predict(
        self, caller: Caller, name: str, key: str, payload: Any, source: Source = Source.API
    ) -> SplitAnswer:
        """One request through the arm its key falls in; audited with the arm."""
        split = self.split(caller, name, source)
        arm = split.arm_for(key)
        try:
            answer = self.scoring.predict(
                caller, name, arm.ref, payload, source=source, action=ACTION, arm=arm.ref
            )
        except ConsoleError as error:
            raise _about_arm(error, name, arm) from None
        return SplitAnswer(arm.ref, key, split, answer)


def _about_arm(error: ConsoleError, name: str, arm: Arm) -> ConsoleError:
    """A refusal or a missing version, saying that the split sent the request there."""
    if isinstance(error, PermissionDenied):
        return type(error)(
            f"The traffic split of {cut(name)} sent this request to arm {cut(arm.ref, 40)}, "
            f"which you may not use. {error.message}",
            hint="Ask the model's owner for access to that version, or send another key.",
        )
    if error.http_status == 404 and not isinstance(error, InvalidInput):
        return SplitMisconfigured(
            f"The traffic split of {cut(name)} names arm {cut(arm.ref, 40)}, which does not "
            f"exist. {error.message}",
            hint="The model's owner fixes the tag or sets the alias.",
        )
    return error
