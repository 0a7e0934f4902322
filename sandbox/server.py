"""Start and stop a sandbox server from Python: in a thread (tests) or in a subprocess.

    with start_sandbox(SandboxOptions(data_dir=tmp, seed=5)) as sandbox:
        sandbox.reset(seed=3)
        sandbox.set_faults(latency_ms=200)
        rejected = sandbox.invoices(status="REJETEE")

    with start_sandbox(SandboxOptions(data_dir=tmp, seed=5, accounts=3)) as sandbox:
        second = sandbox.account(2)  # the user with « +2 » before the « @ »
        theirs = sandbox.invoices("REJETEE", compte=second)
        peak = sandbox.stats()["comptes"][second]["pic_sessions"]

With ``SandboxOptions(origins=3)`` the server listens on three ports (shell, identity provider,
invoicing application: ``sandbox.origins``); ``sandbox.url`` is the shell's, ``sandbox.origins``
gives the three, and ``sandbox.http_client()`` logs in through them.

Both modes wait until ``/health`` answers with this server's own token (a deadline loop, no
fixed sleeps). An admin token is generated when the options have none, so the harness can
always steer the server; so is the seed of the fault decisions, so that
``sandbox.options.fault_seed`` always tells how to replay them.
"""

from __future__ import annotations

import email
import email.policy
import html
import os
import re
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Any, Literal
from urllib.parse import quote, urlencode

import httpx
import uvicorn

from sandbox.faults import Knobs, draw_fault_seed
from sandbox.settings import ENV_PREFIX, SandboxOptions, account_email, origin_urls

HEALTH_TOKEN_ENV = ENV_PREFIX + "HEALTH_TOKEN"


class SandboxStartError(RuntimeError):
    """The sandbox did not come up in time (or answered with someone else's token)."""


class PortalClient(httpx.Client):
    """An ``httpx.Client`` usable in a ``with`` block even after its first requests."""

    def __enter__(self) -> PortalClient:
        return self


class RunningSandbox:
    """A started sandbox: its URL, and helpers over its admin interface.

    ``url`` is the address to open: the single origin's, or with three origins the shell's
    (``/health`` and ``/_admin`` answer there). ``origins`` gives the three
    (``{"portail", "idp", "cpp"}``; with one origin, all three are ``url``).
    """

    def __init__(
        self,
        url: str,
        options: SandboxOptions,
        *,
        stopper: Callable[[], None],
        process: subprocess.Popen[bytes] | None = None,
    ) -> None:
        self.url = url
        self.options = options
        self.origins: dict[str, str] = (
            origin_urls(options)
            if options.origins == 3
            else {"portail": url, "idp": url, "cpp": url}
        )
        self.process = process
        self._stopper = stopper
        self._stopped = False
        self._client = httpx.Client(base_url=url, timeout=30.0)

    def __repr__(self) -> str:
        return f"RunningSandbox(url={self.url!r}, data_dir={str(self.data_dir)!r})"

    @property
    def admin_token(self) -> str:
        assert self.options.admin_token is not None
        return self.options.admin_token

    @property
    def data_dir(self) -> Path:
        return self.options.data_dir

    @property
    def maildir(self) -> Path:
        return self.options.maildir

    def admin(self, method: str, path: str, json: Any = None) -> httpx.Response:
        """Call ``/_admin/<path>`` with the bearer token."""
        url = path if path.startswith("/_admin") else "/_admin/" + path.lstrip("/")
        headers = {"Authorization": f"Bearer {self.admin_token}"}
        return self._client.request(method, url, json=json, headers=headers)

    def _ok(self, response: httpx.Response) -> Any:
        if response.status_code >= 400:
            raise RuntimeError(
                f"Admin {response.request.method} {response.request.url.path}: "
                f"{response.status_code} {response.text[:300]}"
            )
        return response.json()

    def account(self, number: int) -> str:
        """The identifiant of account ``number`` (1: ``options.user``; k: ``+k`` before the
        ``@``)."""
        return account_email(self.options.user, number)

    def reset(
        self,
        seed: int | None = None,
        *,
        seed_suspended: int | None = None,
        seed_recycle: int | None = None,
        accounts: int | None = None,
        **kw: Any,
    ) -> dict[str, Any]:
        """Wipe and re-seed: ``seed`` rejected invoices, ``seed_suspended`` suspended ones
        not yet acknowledged, ``seed_recycle`` invoices « À recycler » besides the seed's own,
        for each of ``accounts`` accounts (each left out: the start options)."""
        body: dict[str, Any] = dict(kw)
        for name, value in (
            ("seed", seed),
            ("seed_suspended", seed_suspended),
            ("seed_recycle", seed_recycle),
            ("accounts", accounts),
        ):
            if value is not None:
                body[name] = value
        result: dict[str, Any] = self._ok(self.admin("POST", "reset", json=body))
        return result

    def set_faults(self, **knobs: Any) -> dict[str, Any]:
        """Change fault knobs; without arguments, every knob back to « no fault »."""
        body: dict[str, Any] = knobs if knobs else asdict(Knobs())
        result: dict[str, Any] = self._ok(self.admin("POST", "faults", json=body))
        return result

    def invoices(
        self, status: str | None = None, compte: str | None = None
    ) -> list[dict[str, Any]]:
        """Every invoice (admin records), of one status and/or of one account."""
        params = {k: v for k, v in (("status", status), ("compte", compte)) if v is not None}
        path = "invoices" + (f"?{urlencode(params)}" if params else "")
        result: list[dict[str, Any]] = self._ok(self.admin("GET", path))
        return result

    def invoice(self, numero: str, compte: str | None = None) -> dict[str, Any]:
        """One invoice by number (``compte`` chooses among accounts holding it)."""
        path = f"invoices/{numero}" + (f"?compte={quote(compte)}" if compte else "")
        result: dict[str, Any] = self._ok(self.admin("GET", path))
        return result

    def stats(self) -> dict[str, Any]:
        """``{"comptes": {identifiant: {"sessions": live now, "pic_sessions": peak since the
        last reset}}, "max_sessions_per_account": N, "requetes": {"documents": n, "xhr": n,
        "total": n}}``: ``requetes`` counts the portal's answers since the last reset —
        documents (pages, and redirects answering a page's request) and XHR/fetch (``/api/…``,
        a list's fragment) — static files, the favicon, ``/health`` and ``/_admin`` left out
        (``sandbox.faults.request_kind``)."""
        result: dict[str, Any] = self._ok(self.admin("GET", "stats"))
        return result

    def http_client(
        self, *, login: bool = True, email: str | None = None, password: str | None = None
    ) -> PortalClient:
        """An HTTP client on the portal pages, logged in through the forms by default
        (typing the one-time code from the Maildir when the account has one).

        With three origins the client goes through the three (the shell's « Se connecter »,
        the provider's form, then « Facturation » from the shell's home page) and comes back
        logged in to the invoicing application: its base URL is ``origins["cpp"] + "/cpp"``,
        and absolute URLs reach any origin."""
        if self.options.origins == 3:
            return self._three_origin_client(login, email, password)
        client = PortalClient(base_url=self.url, follow_redirects=True, timeout=30.0)
        if not login:
            return client
        page = client.get("/connexion")
        page = client.post(
            "/connexion",
            data={
                "csrf": csrf_token(page.text),
                "identifiant": email or self.options.user,
                "mot_de_passe": password or self.options.password,
            },
        )
        if page.url.path == "/connexion/code":
            page = client.post(
                "/connexion/code",
                data={"csrf": csrf_token(page.text), "code": last_code(self.maildir)},
            )
        if page.url.path != "/accueil":
            client.close()
            raise RuntimeError(f"Connexion au bac à sable refusée ({page.url.path}).")
        return client

    def _three_origin_client(
        self, login: bool, email: str | None, password: str | None
    ) -> PortalClient:
        shell, cpp = self.origins["portail"], self.origins["cpp"]
        client = PortalClient(base_url=cpp + "/cpp", follow_redirects=True, timeout=30.0)
        if not login:
            return client
        page = client.get(shell + "/login")
        page = client.post(
            form_action(page),
            data={
                "csrf": csrf_token(page.text),
                "identifiant": email or self.options.user,
                "mot_de_passe": password or self.options.password,
            },
        )
        if 'name="code"' in page.text and str(page.url).startswith(self.origins["idp"]):
            page = client.post(
                form_action(page),
                data={"csrf": csrf_token(page.text), "code": last_code(self.maildir)},
            )
        if str(page.url) != shell + "/aife_csm?id=aife_accueil":
            client.close()
            raise RuntimeError(f"Connexion au bac à sable refusée ({page.url}).")
        page = client.get(cpp + "/cpp/facturation", headers={"Referer": shell + "/"})
        if str(page.url) != cpp + "/cpp/facturation":
            client.close()
            raise RuntimeError(f"Entrée dans la facturation refusée ({page.url}).")
        return client

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._client.close()
        self._stopper()

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def csrf_token(html: str) -> str:
    """The CSRF token of the first form of a page."""
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    if match is None:
        raise ValueError("no CSRF field on this page")
    return match.group(1)


def form_action(page: httpx.Response) -> str:
    """The absolute address the first POST form of ``page`` posts to."""
    match = re.search(r'<form method="post" action="([^"]+)"', page.text)
    if match is None:
        raise ValueError("no POST form on this page")
    return str(page.url.join(html.unescape(match.group(1))))


def last_code(maildir: Path) -> str:
    """The one-time code of the newest e-mail in the Maildir's ``new`` folder."""
    messages = sorted((maildir / "new").glob("*.eml"), key=lambda p: p.name)
    if not messages:
        raise ValueError("no e-mail in the Maildir")
    parsed = email.message_from_bytes(messages[-1].read_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    body = parsed.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else ""
    match = re.search(r"code de vérification est : (\d{6})", text)
    if match is None:
        raise ValueError("no code in the last e-mail")
    return match.group(1)


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


def free_port(host: str = "127.0.0.1") -> int:
    with _bind(host, 0) as sock:
        port: int = sock.getsockname()[1]
    return port


def free_ports(host: str, count: int) -> list[int]:
    """``count`` distinct free ports (bound together, then released)."""
    socks = [_bind(host, 0) for _ in range(count)]
    try:
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def _health_ok(url: str, token: str) -> bool:
    try:
        response = httpx.get(url + "/health", timeout=0.5)
    except httpx.TransportError:
        return False
    if response.status_code != 200:
        return False
    if response.json().get("token") != token:
        raise SandboxStartError(f"{url} répond, mais ce n'est pas ce bac à sable.")
    return True


def _wait_ready(url: str, token: str, timeout_s: float, died: Callable[[], bool]) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if _health_ok(url, token):
            return
        # `died` waits briefly for the server to end: it is the throttle of this loop.
        if died():
            raise SandboxStartError(f"Le bac à sable s'est arrêté pendant son démarrage ({url}).")
    raise SandboxStartError(f"Le bac à sable ne répond pas sur {url} après {timeout_s:.0f} s.")


def start_sandbox(
    options: SandboxOptions,
    *,
    mode: Literal["thread", "process"] = "thread",
    timeout_s: float = 20,
) -> RunningSandbox:
    """Start a sandbox and wait until it answers; ``port=0`` picks a free port."""
    if options.admin_token is None:
        options = options.replace(admin_token=secrets.token_urlsafe(24))
    if options.fault_seed is None:
        options = options.replace(fault_seed=draw_fault_seed())
    options.data_dir.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(16)
    if mode == "thread":
        return _start_thread(options, token, timeout_s)
    return _start_process(options, token, timeout_s)


def bind_origins(options: SandboxOptions) -> tuple[SandboxOptions, list[socket.socket]]:
    """Bind the server's sockets: one, or the three origins' (shell, provider, invoicing);
    the options come back with the ports bound (a port 0 becomes a free one)."""
    if options.origins != 3:
        sock = _bind(options.host, options.port)
        return options.replace(port=sock.getsockname()[1]), [sock]
    socks: list[socket.socket] = []
    try:
        for port in (options.port, options.idp_port, options.cpp_port):
            socks.append(_bind(options.host, port))
    except BaseException:
        for sock in socks:
            sock.close()
        raise
    shell, idp, cpp = (sock.getsockname()[1] for sock in socks)
    return options.replace(port=shell, idp_port=idp, cpp_port=cpp), socks


def _start_thread(options: SandboxOptions, token: str, timeout_s: float) -> RunningSandbox:
    from sandbox.origins import build_app

    options, socks = bind_origins(options)
    port = options.port
    try:
        app = build_app(options, health_token=token)
    except BaseException:
        for sock in socks:
            sock.close()
        raise
    config = uvicorn.Config(
        app, log_config=None, log_level="warning", access_log=False, lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": socks}, name=f"sandbox-{port}", daemon=True
    )
    thread.start()

    def stopper() -> None:
        server.should_exit = True
        thread.join(timeout=10)
        for sock in socks:
            sock.close()

    url = f"http://{options.host}:{port}"

    def died() -> bool:
        thread.join(timeout=0.05)
        return not thread.is_alive()

    try:
        _wait_ready(url, token, timeout_s, died)
    except BaseException:
        stopper()
        raise
    return RunningSandbox(url, options, stopper=stopper)


def option_env(options: SandboxOptions) -> dict[str, str]:
    """The options as ``CHORUS_SANDBOX_*`` variables (secrets stay out of the command line)."""
    env: dict[str, str] = {}
    for name, value in vars(options).items():
        if value is None:
            continue
        if isinstance(value, bool):
            value = "1" if value else "0"
        env[ENV_PREFIX + name.upper()] = str(value)
    return env


def _start_process(options: SandboxOptions, token: str, timeout_s: float) -> RunningSandbox:
    # The ports are chosen here, so that the addresses are known before the server answers.
    names = ("port", "idp_port", "cpp_port") if options.origins == 3 else ("port",)
    wanted = [name for name in names if getattr(options, name) == 0]
    ports = free_ports(options.host, len(wanted))
    options = options.replace(**dict(zip(wanted, ports, strict=True)))
    env = {**os.environ, **option_env(options), HEALTH_TOKEN_ENV: token}
    log = (options.data_dir / "sandbox-server.log").open("ab")
    root = Path(__file__).resolve().parent.parent
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "serve"],
        env=env,
        cwd=root,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    log.close()

    def stopper() -> None:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)

    def died() -> bool:
        try:
            process.wait(timeout=0.05)
        except subprocess.TimeoutExpired:
            return False
        return True

    url = f"http://{options.host}:{options.port}"
    try:
        _wait_ready(url, token, timeout_s, died)
    except BaseException:
        stopper()
        raise
    return RunningSandbox(url, options, stopper=stopper, process=process)
