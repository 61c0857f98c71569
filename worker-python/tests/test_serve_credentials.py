"""What `serve` makes of its token and TLS files: whatever cannot work is refused at start, saying why."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import SpawnWorker

READY = "SNAKEPIT_READY "
FAILED = "SNAKEPIT_FAILED "
TOKEN = "credentials-test-token"
SERVE = ("serve", "--adapter", "sample_adapters.SampleAdapter", "--port", "0")
# A single process, and a dispatcher (`--workers 2`), read their flags alike.
LAYOUTS = [pytest.param((), id="one-process"), pytest.param(("--workers", "2"), id="workers-2")]

needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl makes the certificates")


def _key_and_certificate(directory: Path, name: str) -> tuple[Path, Path]:
    key, certificate = directory / f"{name}.key", directory / f"{name}.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"),
            *("-days", "1", "-keyout", str(key), "-out", str(certificate), "-subj", "/CN=localhost"),
        ],
        check=True,
        capture_output=True,
    )
    return key, certificate


def _refusal(spawn_worker: SpawnWorker, *args: str, env: dict[str, str] | None = None) -> str:
    worker = spawn_worker(*SERVE, *args, env=env)
    report = worker.handshake(FAILED)
    assert worker.wait() == 3
    message = str(report["message"])
    assert TOKEN not in message and TOKEN not in worker.stderr
    return message


@pytest.mark.parametrize("layout", LAYOUTS)
def test_an_empty_token_file_is_refused_rather_than_served_without_a_token(
    spawn_worker: SpawnWorker, tmp_path: Path, layout: tuple[str, ...]
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("\n", encoding="utf-8")

    message = _refusal(spawn_worker, "--token-file", str(token_file), *layout)

    assert "--token-file" in message and "empty" in message


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_token_env_naming_a_variable_that_is_not_set_is_refused(
    spawn_worker: SpawnWorker, layout: tuple[str, ...]
) -> None:
    message = _refusal(spawn_worker, "--token-env", "SNAKEPIT_SPEC_NO_SUCH_TOKEN", *layout)

    assert "SNAKEPIT_SPEC_NO_SUCH_TOKEN" in message and "not set" in message


@pytest.mark.parametrize("token", [f"{TOKEN}\nsecond line", f"{TOKEN}\u00e9"])
def test_a_token_no_client_could_send_is_refused_without_echoing_it(
    spawn_worker: SpawnWorker, tmp_path: Path, token: str
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(token, encoding="utf-8")

    message = _refusal(spawn_worker, "--token-file", str(token_file))

    assert "printable ASCII" in message


@needs_openssl
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(
    ("fault", "named"),
    [
        ("key-not-pem", "--tls-key"),
        ("key-of-another-certificate", "is not the key of --tls-cert"),
        ("certificate-not-pem", "--tls-cert"),
    ],
)
def test_tls_files_that_cannot_serve_are_refused_naming_the_flag(
    spawn_worker: SpawnWorker, tmp_path: Path, layout: tuple[str, ...], fault: str, named: str
) -> None:
    key, certificate = _key_and_certificate(tmp_path, "server")
    other_key, _ = _key_and_certificate(tmp_path, "other")
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not PEM at all\n", encoding="utf-8")
    files = {
        "key-not-pem": (certificate, garbage),
        "key-of-another-certificate": (certificate, other_key),
        "certificate-not-pem": (garbage, key),
    }[fault]

    message = _refusal(
        spawn_worker, "--tls-cert", str(files[0]), "--tls-key", str(files[1]), *layout, env={"SNAKEPIT_TOKEN": TOKEN}
    )

    assert named in message
    assert "Failed to bind" not in message


@needs_openssl
def test_good_tls_files_serve(spawn_worker: SpawnWorker, tmp_path: Path) -> None:
    key, certificate = _key_and_certificate(tmp_path, "server")

    worker = spawn_worker(*SERVE, "--tls-cert", str(certificate), "--tls-key", str(key), env={"SNAKEPIT_TOKEN": TOKEN})

    worker.handshake(READY)


@needs_openssl
def test_a_client_ca_that_is_not_pem_or_without_a_certificate_is_refused(
    spawn_worker: SpawnWorker, tmp_path: Path
) -> None:
    key, certificate = _key_and_certificate(tmp_path, "server")
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not PEM at all\n", encoding="utf-8")
    env = {"SNAKEPIT_TOKEN": TOKEN}

    not_pem = _refusal(
        spawn_worker, "--tls-cert", str(certificate), "--tls-key", str(key), "--tls-client-ca", str(garbage), env=env
    )
    alone = _refusal(spawn_worker, "--tls-client-ca", str(certificate), env=env)

    assert "--tls-client-ca" in not_pem and "no PEM certificate" in not_pem
    assert "needs --tls-cert and --tls-key" in alone
