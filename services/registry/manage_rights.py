"""Whether a caller may move a model's aliases and traffic split, asked of the registry with
the caller's own credentials before a control is offered or a move is tried.

Each registry answers in its own terms: the MLflow auth server by the caller's permission on
the registered model (EDIT or MANAGE sets an alias and a tag; deleting an alias needs MANAGE,
``mlflow.server.auth`` checks ``can_delete`` for it), Unity Catalog by ownership of the model
(its API reference for setting and deleting an alias: a metastore admin or the model's owner,
with USE CATALOG and USE SCHEMA) or the MANAGE privilege on it. Anything unexpected (an
error, an answer of another shape, a server that cannot be reached) is a no, with the reason.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Protocol
from urllib.parse import quote

import requests

from services.access.caller import Caller
from services.errors import cut

TIMEOUT_SECONDS = 10
CURRENT_USER = "/api/2.0/mlflow/users/current"
USER_PERMISSION = "/api/3.0/mlflow/users/permissions/get"
UC_MODEL = "/api/2.1/unity-catalog/models/"
UC_EFFECTIVE = "/api/2.1/unity-catalog/effective-permissions/function/"
UC_MANAGING = ("MANAGE", "ALL_PRIVILEGES")


@dataclass(frozen=True)
class ManageVerdict:
    """``may_move``: set or move an alias, edit the traffic split; ``may_delete``: delete an
    alias. ``reason`` says, in words, why not (or what the caller holds)."""

    may_move: bool
    may_delete: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class ManageRights(Protocol):
    def verdict(self, name: str) -> ManageVerdict: ...


class EveryoneManages:
    """A registry without permissions (the embedded one, mode ``none``): its one local user
    may do what the registry does."""

    def verdict(self, name: str) -> ManageVerdict:
        return ManageVerdict(True, True, "This registry does not check permissions.")


def _no(reason: str) -> ManageVerdict:
    return ManageVerdict(False, False, reason)


def _session(caller: Caller) -> requests.Session:
    session = requests.Session()
    if caller.token:
        session.headers["Authorization"] = f"Bearer {caller.token}"
    else:
        session.auth = (caller.user, caller.password or "")
    return session


class AskedRights:
    """Rights asked of a registry with the caller's own credentials. Fail closed: any
    answer that is not a clear yes (an error, an odd reply, an exception) is a no."""

    asked_of = "The registry"

    def __init__(self, host: str, caller: Caller) -> None:
        self.host = host.rstrip("/")
        self.caller = caller

    def verdict(self, name: str) -> ManageVerdict:
        try:
            return self._asked(name)
        except Exception:  # whatever went wrong, the answer is no
            return _no(
                f"{self.asked_of} could not confirm that {self.caller.user} may move aliases "
                f"of {cut(name)}, so the console does not offer it."
            )

    def _asked(self, name: str) -> ManageVerdict:
        raise NotImplementedError


class MlflowServerRights(AskedRights):
    """The MLflow auth server's own answer: the caller's admin flag, then the permission it
    resolves for the caller on the model (a user may always ask about themself)."""

    def _asked(self, name: str) -> ManageVerdict:
        session = _session(self.caller)
        me = _json(session.get(f"{self.host}{CURRENT_USER}", timeout=TIMEOUT_SECONDS))
        if me["user"]["is_admin"] is True:
            return ManageVerdict(True, True, f"{self.caller.user} is an administrator.")
        params = {
            "username": self.caller.user,
            "resource_type": "registered_model",
            "resource_id": name,
        }
        answer = session.get(
            f"{self.host}{USER_PERMISSION}", params=params, timeout=TIMEOUT_SECONDS
        )
        return mlflow_verdict(self.caller.user, name, str(_json(answer)["permission"]))


def mlflow_verdict(user: str, name: str, permission: str) -> ManageVerdict:
    """What a permission on the registered model lets its holder do with aliases."""
    holds = f"{user} has {permission} on {cut(name)}"
    if permission == "MANAGE":
        return ManageVerdict(True, True, f"{holds}.")
    if permission == "EDIT":
        return ManageVerdict(True, False, f"{holds}; deleting an alias needs MANAGE.")
    return _no(
        f"{holds}; moving an alias or the traffic split needs EDIT or MANAGE on the "
        "registered model (deleting an alias needs MANAGE). Ask the model's owner for it."
    )


class UnityCatalogRights(AskedRights):
    """Unity Catalog: the model's owner, or a holder of MANAGE on it (models are securables
    of type function in the permissions API)."""

    asked_of = "Unity Catalog"

    def _asked(self, name: str) -> ManageVerdict:
        session = _session(self.caller)
        model = _json(
            session.get(f"{self.host}{UC_MODEL}{quote(name, safe='')}", timeout=TIMEOUT_SECONDS)
        )
        if model.get("owner") == self.caller.user:
            return ManageVerdict(True, True, f"{self.caller.user} owns {cut(name)}.")
        url = f"{self.host}{UC_EFFECTIVE}{quote(name, safe='')}"
        granted = _json(
            session.get(url, params={"principal": self.caller.user}, timeout=TIMEOUT_SECONDS)
        )
        held = {
            p["privilege"]
            for assignment in granted.get("privilege_assignments", [])
            for p in assignment.get("privileges", [])
        }
        if held & set(UC_MANAGING):
            return ManageVerdict(True, True, f"{self.caller.user} has MANAGE on {cut(name)}.")
        return _no(
            f"{self.caller.user} neither owns {cut(name)} nor has MANAGE on it; Unity Catalog "
            "lets only its owner (or a holder of MANAGE, or a metastore admin) move its "
            "aliases. Ask the owner: GRANT MANAGE ON FUNCTION "
            f"{cut(name)} TO `{self.caller.user}`."
        )


def _json(response: requests.Response) -> dict[str, Any]:
    """The answer's JSON object; a refusal or an error is a ValueError (a no)."""
    if not response.ok:
        raise ValueError(f"answered {response.status_code}")
    body = response.json()
    if not isinstance(body, dict):
        raise ValueError("not an object")
    return body
