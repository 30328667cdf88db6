"""A locally made CA and a server certificate signed by it, for HTTPS on loopback (needs ``trustme``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tixallo_qa.reference.config import ConfigError

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class LocalCA:
    """Where the files are: the CA to trust (``TIXALLO_CA_BUNDLE``) and the server's cert and key."""

    ca: Path
    cert: Path
    key: Path


def make_local_ca(folder: str | Path, names: tuple[str, ...] = LOOPBACK_NAMES) -> LocalCA:
    """Write a fresh CA and a certificate for ``names`` signed by it into ``folder``."""
    try:
        import trustme
    except ImportError:
        raise ConfigError(
            "--tls needs the trustme package (pip install trustme, or make install for the dev "
            "tools); or pass --tls-cert and --tls-key of a certificate you made"
        ) from None
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="tixallo-qa local CA")
    server = ca.issue_cert(*names)
    files = LocalCA(out / "ca.pem", out / "server.pem", out / "server.key")
    ca.cert_pem.write_to_path(str(files.ca))
    server.private_key_pem.write_to_path(str(files.key))
    # The chain: the leaf, then any intermediates.
    files.cert.write_bytes(b"".join(blob.bytes() for blob in server.cert_chain_pems))
    files.key.chmod(0o600)
    return files
