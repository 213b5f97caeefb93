"""The second factor: an authenticator app's code after the password (±1 step, never twice),
recovery codes that burn, wrong codes counted toward the lock, compulsory by setting."""

from __future__ import annotations

import re

import pyotp
import pytest

from ingest.settings import Settings
from tests.portal_support import (
    ADMIN,
    GOOD_PASSWORD,
    Client,
    Clock,
    admin_signed_in,
    approve_now,
    register_admin,
)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(settings: Settings, clock: Clock) -> Client:
    return Client(settings, clock)


def _set_up(client: Client, clock: Clock) -> tuple[pyotp.TOTP, list[str]]:
    """Add an authenticator app through the page; returns it and the recovery codes."""
    form = client.get("/zweiter-faktor").text
    secret = re.search(r"data-totp-secret>([A-Z2-7]+)<", form).group(1)  # type: ignore[union-attr]
    totp = pyotp.TOTP(secret)
    done = client.post("/zweiter-faktor", {"secret": secret, "code": totp.at(clock())})
    assert done.status_code == 200, done.text
    codes = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", done.text)
    assert all(len(code) == 19 for code in codes)
    assert len(codes) == 10
    return totp, codes


def _password_step(client: Client) -> None:
    client.post("/abmelden")
    assert client.login(ADMIN["email"], GOOD_PASSWORD).url.path == "/anmelden/code"


def test_after_setup_a_login_needs_the_apps_code(client: Client, clock: Clock) -> None:
    """Password alone reaches only the code page; the code of the moment, or one step off, opens
    the session; the same code a second time is refused."""
    admin_signed_in(client, clock)
    totp, _ = _set_up(client, clock)
    clock.advance(seconds=60)
    _password_step(client)
    assert client.get("/sachbearbeiter").url.path == "/anmelden/code"
    late = totp.at(clock.now.timestamp() - 30)
    assert client.post("/anmelden/code", {"code": late}).url.path == "/"
    assert client.get("/sachbearbeiter").status_code == 200
    _password_step(client)
    again = client.post("/anmelden/code", {"code": late})
    assert again.status_code == 400 and "schon verwendet" in again.text
    assert client.post("/anmelden/code", {"code": totp.at(clock())}).url.path == "/"


def test_a_recovery_code_works_once(client: Client, clock: Clock) -> None:
    """Each recovery code stands in for the app's code one time."""
    admin_signed_in(client, clock)
    _, codes = _set_up(client, clock)
    _password_step(client)
    assert client.post("/anmelden/code", {"code": codes[0]}).url.path == "/"
    _password_step(client)
    assert client.post("/anmelden/code", {"code": codes[0]}).status_code == 400
    assert client.post("/anmelden/code", {"code": codes[1].upper()}).url.path == "/"


def test_wrong_codes_count_toward_the_lock(client: Client, clock: Clock) -> None:
    """Five wrong codes lock the account like five wrong passwords: the session ends."""
    admin_signed_in(client, clock)
    totp, _ = _set_up(client, clock)
    _password_step(client)
    wrong = f"{(int(totp.at(clock())) + 1) % 1_000_000:06d}"
    for _ in range(4):
        assert client.post("/anmelden/code", {"code": wrong}).status_code == 400
    locked = client.post("/anmelden/code", {"code": wrong})
    assert "vorübergehend gesperrt" in locked.text
    assert client.get("/").url.path == "/anmelden"
    clock.advance(seconds=90)
    assert client.login(ADMIN["email"], GOOD_PASSWORD).url.path == "/anmelden"


def test_required_second_factor_comes_before_everything_else(
    settings: Settings, clock: Clock
) -> None:
    """With second_factor = "required" an administrator reaches only the setup page until then."""
    required = settings.model_copy(
        update={"portal": settings.portal.model_copy(update={"second_factor": "required"})}
    )
    client = Client(required, clock)
    number, _ = register_admin(client)
    client.login(ADMIN["email"], approve_now(client, number, clock))
    assert client.set_password().url.path == "/zweiter-faktor"
    assert client.get("/sachbearbeiter").url.path == "/zweiter-faktor"
    _set_up(client, clock)
    assert client.get("/sachbearbeiter").status_code == 200
