"""Keep credentials out of what FireWorks stores and writes (specs, ``FW.json``, logs).

``flow_to_workflow(flow, store)`` serialises ``store`` into every Firework spec, and
``LaunchPad.to_dict()`` exports its password as plain text: a credentialed object that reaches a
spec ends up in the LaunchPad database and in every launch directory's ``FW.json``. ionflow
submits with ``store=None`` (each worker uses its own jobflow store) and checks every workflow
with :func:`find_credentials` before it is added.
"""

from __future__ import annotations

import re
from typing import Any

from ionflow.errors import IonflowError

__all__ = ["CredentialsInSpecError", "assert_no_credentials", "find_credentials"]

#: Keys whose (non-empty) value is a secret.
SECRET_KEYS = re.compile(
    r"^(password|passwd|pwd|secret|secret_key|token|api_key|aws_secret_access_key"
    r"|aws_session_token|ssl_certfile_password|tlsCertificateKeyFilePassword)$",
    re.IGNORECASE,
)
#: A connection string with a password in it: ``scheme://user:password@host``.
URI_WITH_PASSWORD = re.compile(r"[a-z][a-z0-9+.-]*://[^/@:\s]+:[^/@\s]+@", re.IGNORECASE)


class CredentialsInSpecError(IonflowError):
    """A workflow about to be submitted carries credentials."""


def find_credentials(obj: Any, path: str = "") -> list[str]:
    """Paths (``a.b[0].c``) in ``obj`` that hold a password, secret or credentialed URI.

    Parameters
    ----------
    obj
        A JSON-like object (e.g. ``Workflow.to_dict()``).
    path
        Prefix of the reported paths.

    Returns
    -------
    list of str
        Where the credentials are; the values themselves are never returned.
    """
    found: list[str] = []
    if isinstance(obj, dict):
        for key, value in obj.items():
            sub = f"{path}.{key}" if path else str(key)
            if SECRET_KEYS.match(str(key)) and value not in (None, "", {}):
                found.append(sub)
            else:
                found += find_credentials(value, sub)
    elif isinstance(obj, (list, tuple)):
        for i, value in enumerate(obj):
            found += find_credentials(value, f"{path}[{i}]")
    elif isinstance(obj, str) and URI_WITH_PASSWORD.search(obj):
        found.append(path)
    return found


def assert_no_credentials(obj: Any, what: str = "the workflow") -> None:
    """Raise :class:`CredentialsInSpecError` when ``obj`` carries credentials.

    Parameters
    ----------
    obj
        A JSON-like object (e.g. ``Workflow.to_dict()``).
    what
        How to name ``obj`` in the message.

    Raises
    ------
    CredentialsInSpecError
        Naming where (never what) the credentials are.
    """
    found = find_credentials(obj)
    if found:
        where = ", ".join(found[:5]) + (" ..." if len(found) > 5 else "")
        raise CredentialsInSpecError(
            f"{what} would store credentials in the LaunchPad and in FW.json ({where}); "
            "pass stores and launchpads by configuration on the workers, never inside a flow"
        )
