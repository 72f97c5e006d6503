"""Times people give (``2026-12-01``, ``2026-12-01T09:00Z``) as the audit log writes them,
so a period is a comparison of strings."""

from __future__ import annotations

from datetime import UTC, datetime

from services.errors import InvalidInput, cut


def iso_utc(text: str | None) -> str | None:
    """``text`` as UTC ISO time with milliseconds; a time without a zone is UTC."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"{cut(text, 40)} is not a time.",
            hint="Use an ISO time such as 2026-12-01 or 2026-12-01T09:00:00Z.",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")
