"""The control API's token file and TLS pair.

The token is the only thing between a local process and the ability to trade: it is created
once, owner-only (0600), and a token file others can read is refused rather than used. The
self-signed pair for ``tls = true`` is generated once next to the token file and reused, so a
client can keep trusting the same certificate.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import secrets
import stat
from pathlib import Path

from ..exceptions import ConfigError

__all__ = ["CERT_NAME", "KEY_NAME", "ensure_self_signed", "read_token", "token_file_for"]

CERT_NAME = "control-cert.pem"
KEY_NAME = "control-key.pem"
TOKEN_BYTES = 32


def token_file_for(path: Path | None) -> Path:
    return path if path is not None else Path("control.token").absolute()


def read_token(path: Path, create: bool = True) -> str:
    """The token in ``path``, created (0600) if missing and ``create``. ConfigError when the
    file is readable by others, empty, or cannot be written."""
    key = "control.token_file"
    if create and not path.exists():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process created it meanwhile: read theirs
        except OSError as exc:
            raise ConfigError(key, f"cannot create {str(path)!r}: {exc.strerror or exc}",
                              "choose a writable folder") from None  # fmt: skip
        else:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(TOKEN_BYTES) + "\n")
    try:
        mode = path.stat().st_mode
        text = path.read_text().strip()
    except FileNotFoundError:
        raise ConfigError(
            key, f"{str(path)!r} does not exist", "start `twsapp run` first"
        ) from None
    except OSError as exc:
        raise ConfigError(key, f"cannot read {str(path)!r}: {exc.strerror or exc}",
                          "check its permissions") from None  # fmt: skip
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(key, f"{str(path)!r} is readable by others (mode "
                          f"{stat.S_IMODE(mode):04o})", f"chmod 600 {path}") from None  # fmt: skip
    if len(text) < 16 or any(c.isspace() for c in text):
        raise ConfigError(key, f"{str(path)!r} holds no usable token",
                          "delete it: the next run writes a new one")  # fmt: skip
    return text


def ensure_self_signed(folder: Path, host: str) -> tuple[Path, Path]:
    """A self-signed certificate for ``host`` (and localhost, 127.0.0.1, ::1), made once."""
    cert_path, key_path = folder / CERT_NAME, folder / KEY_NAME
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    for address in {"127.0.0.1", "::1", host}:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(address)))
        except ValueError:
            names.append(x509.DNSName(address))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "twsapp control API")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=825))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))  # fmt: skip
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path
