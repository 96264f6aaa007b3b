"""The sandbox's Key Vault through the real SecretClient, for tests that read what the app wrote."""

from __future__ import annotations

from azure.keyvault.secrets import SecretClient

from sandbox.client import SandboxClient, StaticTokenCredential


def secret_client(sb: SandboxClient) -> SecretClient:
    """A SecretClient on the sandbox vault. The vault lives on 127.0.0.1, not *.vault.azure.net: the
    client must skip its challenge-resource check."""
    return SecretClient(
        sb.endpoints["key_vault_url"],
        StaticTokenCredential(),
        verify_challenge_resource=False,
        connection_verify=sb.ca_bundle,
    )


def enabled_versions(sb: SandboxClient) -> dict[str, list[bool]]:
    """Every secret in the vault -> whether each of its versions is enabled."""
    out: dict[str, list[bool]] = {}
    with secret_client(sb) as client:
        for secret in client.list_properties_of_secrets():
            if secret.name:
                versions = client.list_properties_of_secret_versions(secret.name)
                out[secret.name] = [bool(v.enabled) for v in versions]
    return out
