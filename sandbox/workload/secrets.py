"""Read the workload's database URL from the sandbox Key Vault with the real Key Vault client."""

from __future__ import annotations

import time
from typing import Any


class StaticToken:
    """A token credential that hands out one fixed bearer token (the sandbox accepts any)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken(self._token, int(time.time()) + 3600)


def read_secret(
    vault_url: str, name: str, *, token: str, ca_bundle: str | None, deadline_s: float = 15.0
) -> str:
    """Return the latest value of secret `name`; retry connection errors until `deadline_s` runs out."""
    from azure.core.exceptions import ServiceRequestError
    from azure.keyvault.secrets import SecretClient

    client = SecretClient(
        vault_url,
        StaticToken(token),
        verify_challenge_resource=False,  # the sandbox vault lives on 127.0.0.1, not *.vault.azure.net
        connection_verify=ca_bundle or True,
        retry_total=0,
    )
    end = time.monotonic() + deadline_s
    while True:
        try:
            value = client.get_secret(name).value
            if value is None:
                raise RuntimeError(f"secret {name} has no value")
            return value
        except ServiceRequestError:
            if time.monotonic() > end:
                raise
            time.sleep(0.5)
