"""The portal's defences against a forged form, a shared or forwarded client address, a
borrowed session, a foreign Host header, spoofing characters and a planted TOTP secret."""

from __future__ import annotations

import re

import pyotp
import pytest
from sqlalchemy import select

from ingest.accounts.accounts import check_email
from ingest.accounts.models import Account, AuditEntry
from ingest.accounts.problems import AccountError
from ingest.settings import Settings
from ingest.storing.db import make_engine, session_factory
from tests.portal_support import (
    ADMIN,
    GOOD_PASSWORD,
    Client,
    Clock,
    admin_signed_in,
    create_clerk,
)

CLERK = "bernd.weber@musterhausen.example"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(settings: Settings, clock: Clock) -> Client:
    return Client(settings, clock)


def _with(settings: Settings, **portal: object) -> Settings:
    return settings.model_copy(update={"portal": settings.portal.model_copy(update=portal)})


def _audit(settings: Settings) -> list[AuditEntry]:
    with session_factory(make_engine(settings))() as session:
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def _account(settings: Settings, email: str) -> Account:
    with session_factory(make_engine(settings))() as session:
        account = session.scalar(select(Account).where(Account.email == email))
        assert account is not None
        return account


def _clerk_id(client: Client) -> str:
    found = re.search(r'href="/sachbearbeiter/(\d+)"', client.get("/sachbearbeiter").text)
    assert found is not None
    return found.group(1)


class _Pauses(list[float]):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


def _pauses(client: Client) -> _Pauses:
    pauses = _Pauses()
    client.http.app.state.portal.pause = pauses  # type: ignore[attr-defined]
    return pauses


# -- the client address and the per-address limit -------------------------------------------


def test_forwarded_for_is_believed_only_from_a_trusted_proxy(
    settings: Settings, clock: Clock
) -> None:
    """Behind a proxy of portal.trusted_proxies the audit names the address the proxy names;
    the same header from any other peer is ignored."""
    behind = _with(settings, trusted_proxies=["10.0.0.0/8"])
    proxied = Client(behind, clock, peer=("10.1.2.3", 40000))
    proxied.http.headers["X-Forwarded-For"] = "203.0.113.7"
    proxied.login("niemand@musterhausen.example", "falsches-Passwort-1")
    direct = Client(behind, clock, peer=("198.51.100.9", 40000))
    direct.http.headers["X-Forwarded-For"] = "203.0.113.8"
    direct.login("niemand@musterhausen.example", "falsches-Passwort-1")
    clients = [e.client for e in _audit(settings) if e.action == "login.failure"]
    assert clients == ["203.0.113.7", "198.51.100.9"]


def test_failures_from_one_address_slow_it_down_but_never_refuse_a_right_password(
    client: Client, clock: Clock
) -> None:
    """After 50 failures from one address within 15 minutes each further attempt from it waits
    3 seconds (audited), and the right password still signs in."""
    admin_signed_in(client, clock)
    client.post("/abmelden")
    pauses = _pauses(client)
    for n in range(50):
        client.login(f"person{n}@musterhausen.example", "falsches-Passwort-1")
    assert pauses == []
    assert client.login(ADMIN["email"], GOOD_PASSWORD).url.path == "/"
    assert pauses == [3.0]
    assert "login.throttled" in [e.action for e in _audit(client.settings)]


def test_failures_behind_a_proxy_do_not_slow_down_other_people_behind_it(
    settings: Settings, clock: Clock
) -> None:
    """The limit counts the address the trusted proxy names, not the proxy's own."""
    behind = _with(settings, trusted_proxies=["10.1.2.3"])
    admin = Client(behind, clock, peer=("10.1.2.3", 40000))
    admin.http.headers["X-Forwarded-For"] = "203.0.113.20"
    admin_signed_in(admin, clock)
    admin.post("/abmelden")
    attacker = Client(behind, clock, peer=("10.1.2.3", 40001))
    attacker.http.headers["X-Forwarded-For"] = "203.0.113.66"
    for n in range(50):
        attacker.login(f"person{n}@musterhausen.example", "falsches-Passwort-1")
    pauses = _pauses(admin)
    assert admin.login(ADMIN["email"], GOOD_PASSWORD).url.path == "/"
    assert pauses == []


# -- CSRF -----------------------------------------------------------------------------------


def test_a_planted_csrf_cookie_does_not_pass_a_signed_in_form(client: Client, clock: Clock) -> None:
    """A token of the attacker's choosing in both the cookie and the form is refused: a
    signed-in form must carry its session's token; the clerk stays active."""
    admin_signed_in(client, clock)
    create_clerk(client, CLERK, ["001"])
    clerk_id = _clerk_id(client)
    session = client.http.cookies.get("zvk_sitzung")
    forged = client.http.post(
        f"/sachbearbeiter/{clerk_id}/deaktivieren",
        data={"csrf": "attackerchosen"},
        headers={"Cookie": f"zvk_sitzung={session}; zvk_csrf=attackerchosen"},
        follow_redirects=False,
    )
    assert forged.status_code == 403
    assert _account(client.settings, CLERK).active


def test_a_planted_csrf_cookie_does_not_pass_the_login_form(client: Client, clock: Clock) -> None:
    """An anonymous form's token must bear the portal's signature; one the attacker made up
    is refused, the portal's own works."""
    admin_signed_in(client, clock)
    client.post("/abmelden")
    client.http.cookies.clear()
    forged = client.http.post(
        "/anmelden",
        data={"csrf": "attackerchosen", "email": ADMIN["email"], "password": GOOD_PASSWORD},
        headers={"Cookie": "zvk_csrf=attackerchosen"},
        follow_redirects=False,
    )
    assert forged.status_code == 403
    assert client.login(ADMIN["email"], GOOD_PASSWORD).url.path == "/"


# -- passwords and one-time passwords -------------------------------------------------------


def test_changing_the_password_needs_the_current_one(client: Client, clock: Clock) -> None:
    """A signed-in person must give the current password; without it, or with a wrong one,
    nothing changes (the wrong one counts as a failure)."""
    admin_signed_in(client, clock)
    assert "Bisheriges Passwort" in client.get("/passwort").text
    refused = client.set_password("Neues-Kennwort-Fluss-9")
    assert refused.status_code == 400 and "bisherige Passwort" in refused.text
    assert client.set_password("Neues-Kennwort-Fluss-9", "falsch-falsch-1").status_code == 400
    assert _account(client.settings, ADMIN["email"]).failures == 2
    assert client.set_password("Neues-Kennwort-Fluss-9", GOOD_PASSWORD).url.path == "/"
    client.post("/abmelden")
    assert client.login(ADMIN["email"], "Neues-Kennwort-Fluss-9").url.path == "/"


def test_a_new_one_time_password_ends_the_sessions_and_the_personal_password(
    client: Client, clock: Clock, settings: Settings
) -> None:
    """After "Einmalpasswort erzeugen" the clerk's open session and personal password are gone;
    the new one-time password leads to choosing a new personal password; audited."""
    admin_signed_in(client, clock)
    otp = create_clerk(client, CLERK, ["001"])
    clerk = Client(settings, clock)
    clerk.login(CLERK, otp)
    assert clerk.set_password().url.path == "/"
    fresh = re.search(
        r"data-otp>([^<]+)<",
        client.post(f"/sachbearbeiter/{_clerk_id(client)}/einmalpasswort").text,
    )
    assert fresh is not None
    assert clerk.get("/").url.path == "/anmelden"
    assert clerk.login(CLERK, GOOD_PASSWORD).url.path == "/anmelden"
    assert clerk.login(CLERK, fresh.group(1)).url.path == "/passwort"
    issued = [e for e in _audit(settings) if e.action == "account.one_time_password"]
    assert "Sitzungen beendet" in issued[-1].details


# -- e-mail addresses and names -------------------------------------------------------------


@pytest.mark.parametrize("address", ["info+x@musterhausen.example", "INFO+Antrag@m.example"])
def test_role_mailboxes_with_a_sub_address_are_refused_at_registration(
    client: Client, address: str
) -> None:
    """info+x@ is the mailbox info@."""
    page = client.post("/registrierung/administrator", {**ADMIN, "email": address, "terms": "ja"})
    assert page.status_code == 400 and "Sammelpostfächer" in page.text


def test_role_mailboxes_with_a_sub_address_are_refused_for_clerks(
    client: Client, clock: Clock
) -> None:
    """An administrator cannot create the clerk Buchhaltung+1@."""
    admin_signed_in(client, clock)
    page = _create_clerk(client, "X", "Y", "Buchhaltung+1@musterhausen.example")
    assert page.status_code == 400 and "Sammelpostfächer" in page.text


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("last_name", "Schmidt\u202etxt.exe"),
        ("first_name", "An\u200bna"),
        ("first_name", "\u2066Anna\u2069"),
        ("phone", "030\u200f123"),
    ],
)
def test_invisible_format_characters_are_refused_in_free_text(
    client: Client, name: str, value: str
) -> None:
    """Bidi overrides and isolates and zero-width characters (Unicode Cf) get a German
    refusal; nothing is stored."""
    page = client.post("/registrierung/administrator", {**ADMIN, name: value, "terms": "ja"})
    assert page.status_code == 400 and "unsichtbare Steuer- oder Formatzeichen" in page.text
    assert not [e for e in _audit(client.settings) if e.action == "application.registered"]


def test_invisible_format_characters_are_refused_in_a_clerks_name(
    client: Client, clock: Clock
) -> None:
    """The administrator's clerk form refuses them too."""
    admin_signed_in(client, clock)
    page = _create_clerk(client, "Bernd", "\u202eWeber", CLERK)
    assert page.status_code == 400 and "unsichtbare" in page.text


def _create_clerk(client: Client, first: str, last: str, email: str):  # type: ignore[no-untyped-def]
    """Post the administrator's "Sachbearbeiter anlegen" form with its first billing office."""
    form = client.get("/sachbearbeiter/anlegen").text
    office = re.search(r'name="office" type="checkbox" value="(\d+)"', form)
    assert office is not None
    return client.post(
        "/sachbearbeiter/anlegen",
        {"first_name": first, "last_name": last, "email": email, "office": office.group(1)},
    )


# -- the second factor's secret -------------------------------------------------------------


def test_the_second_factors_secret_is_the_one_the_server_offered(
    client: Client, clock: Clock
) -> None:
    """A secret sent back in the form is ignored: only the code of the secret the server keeps
    for this session sets up the app, and reloading the page keeps that secret."""
    admin_signed_in(client, clock)
    shown = re.search(r"data-totp-secret>([A-Z2-7]+)<", client.get("/zweiter-faktor").text)
    assert shown is not None
    assert f">{shown.group(1)}<" in client.get("/zweiter-faktor").text
    planted = pyotp.random_base32()
    refused = client.post(
        "/zweiter-faktor", {"secret": planted, "code": pyotp.TOTP(planted).at(clock())}
    )
    assert refused.status_code == 400
    done = client.post("/zweiter-faktor", {"code": pyotp.TOTP(shown.group(1)).at(clock())})
    assert done.status_code == 200 and "<code>" in done.text
    assert _account(client.settings, ADMIN["email"]).totp_secret == shown.group(1)


# -- the Host header ------------------------------------------------------------------------


def test_redirects_never_name_the_requests_host(client: Client, clock: Clock) -> None:
    """A trailing slash is answered with a relative location; a foreign Host header is refused;
    a path that would make a location of another site is not redirected."""
    admin_signed_in(client, clock)
    slash = client.http.get("/sachbearbeiter/", follow_redirects=False)
    assert slash.status_code == 307 and slash.headers["location"] == "/sachbearbeiter"
    foreign = client.http.get(
        "/sachbearbeiter/", headers={"Host": "evil.example"}, follow_redirects=False
    )
    assert foreign.status_code == 400 and "evil.example" not in foreign.headers.get("location", "")
    for path in ("//evil.example/", "/\\evil.example/"):
        answer = client.http.get(path, follow_redirects=False)
        assert "evil.example" not in answer.headers.get("location", "")
    login = client.http.post("/abmelden", data={"csrf": client.csrf()}, follow_redirects=False)
    assert login.headers["location"] == "/anmelden"


@pytest.mark.parametrize(
    "address",
    [
        "anna.adler@stadt-a.example.",
        "anna.adler@stadt-a..example",
        ".anna@stadt-a.example",
        "anna.@stadt-a.example",
        "anna..adler@stadt-a.example",
        "anna@.stadt-a.example",
    ],
)
def test_an_address_with_a_stray_dot_is_refused(address: str) -> None:
    """`anna@stadt.example.` names the mailbox of `anna@stadt.example`: it must not pass the
    checks for an existing account or application as another address."""
    with pytest.raises(AccountError):
        check_email(address, ["info"])


def test_ordinary_addresses_pass() -> None:
    for address in ("anna.adler@stadt-a.example", "a.b-c_d+x@sub.stadt-a.example"):
        assert check_email(address, ["info"]) == address
