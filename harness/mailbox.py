"""The local mailbox: an SMTP sink on 127.0.0.1 that stores every message it receives in a Maildir.

AWS SNS delivers `email` subscriptions by mail; the harness has no real mail provider, so its SNS delivery
(harness/sns.py) speaks SMTP to this sink, and the user opens the result with any mail client (mutt -f, Thunderbird,
Evolution, or Python's `mailbox.Maildir`). A Maildir (new/, cur/, tmp/; one file per message, written to tmp/
and renamed into new/) is used because every client reads it and a write is atomic, so a reader never sees
half a message.

Threading: `SmtpSink` runs aiosmtpd's threaded `Controller` (its own thread and event loop), so the harness's
own loop is never blocked by mail traffic and blocking `smtplib` clients can talk to it from any thread.
A message is written to disk before the sink answers `250` to DATA, so once `smtplib.sendmail` returns the
message is already in the Maildir: readers need no polling.

Relay: with `relay=(host, port)` (a loopback SMTP server such as the compose file's mailpit), the sink also
hands each stored message on, with the same envelope, from a worker thread of its own: the sender has its `250`
as soon as the Maildir has the message, so a slow or silent relay never delays an alarm's email. A relay that is
down or refuses costs a warning naming it; the Maildir keeps the message either way.

Supervision: a sink that cannot store a message (the Maildir not writable, a full disk), that raised
while serving a session, or whose thread's event loop ended while it should serve, has failed:
`failure()` returns that error (the first one) and `on_failure` is called with it at once (before the
SMTP client gets its 451/500, so the sink, not its client, is named); the harness's loop "mail sink
(SMTP)" raises it, which stops the run with the sink named (harness.supervise).
"""

from __future__ import annotations

import email.policy
import email.utils
import logging
import mailbox as stdlib_mailbox
import queue
import smtplib
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage, Message
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from harness.errors import CloudError, ConfigError
from harness.net import is_loopback

__all__ = ["Mailbox", "SmtpSink", "StoredMail", "parse_relay"]

log = logging.getLogger(__name__)
RELAY_TIMEOUT = 10.0  # wall seconds for one hand-over to the relay
RELAY_PROBE_TIMEOUT = 3.0  # wall seconds for the relay to greet when the harness starts
RELAY_DRAIN = 15.0  # wall seconds `stop()` gives the relay to take what is queued


def parse_relay(value: str, option: str = "--mail-relay") -> tuple[str, int]:
    """`HOST:PORT` of a loopback SMTP server, checked; `option` names the culprit in the error."""
    host, sep, port = value.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not (port.isascii() and port.isdecimal()) or not 0 < int(port) < 65536:
        raise ConfigError(f"{option} {value!r}: give HOST:PORT of an SMTP server, such as 127.0.0.1:1025")
    if not is_loopback(host):
        raise ConfigError(f"{option} {value!r}: give a loopback IP address such as 127.0.0.1 "
                          "(the harness talks to loopback only)")
    return host, int(port)


def relay_answers(relay: tuple[str, int]) -> str | None:
    """None when an SMTP server answers at `relay`; why not when nothing listens there (it may start later).
    Something that listens but does not speak SMTP is a wrong address: ConfigError."""
    try:
        with smtplib.SMTP(*relay, timeout=RELAY_PROBE_TIMEOUT) as smtp:
            smtp.noop()
    except ConnectionRefusedError as exc:
        return str(exc)
    except (OSError, smtplib.SMTPException) as exc:
        raise ConfigError("mail relay {}:{} accepts connections but does not answer as an SMTP server ({}); "
                          "is it the right port?".format(*relay, exc or type(exc).__name__)) from exc
    return None


class _Relay:
    """Hands stored messages on to another SMTP server, in order, from a thread of its own."""

    def __init__(self, address: tuple[str, int], folder: Path) -> None:
        self.address = address
        self._folder = folder
        self._queue: queue.Queue[tuple[str, list[str], bytes] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="mail relay {}:{}".format(*address), daemon=True)
        self._thread.start()

    def put(self, sender: str, recipients: list[str], content: bytes) -> None:
        self._queue.put((sender, recipients, content))

    def flush(self, timeout: float = RELAY_DRAIN) -> bool:
        """Wait until every message put so far was handed on (or failed); False if `timeout` passed first."""
        with self._queue.all_tasks_done:
            return self._queue.all_tasks_done.wait_for(lambda: not self._queue.unfinished_tasks, timeout)

    def close(self, timeout: float = RELAY_DRAIN) -> None:
        if not self.flush(timeout):
            log.warning("mail relay %s:%s: %d message(s) not handed on within %g s; they are kept in %s",
                        *self.address, self._queue.unfinished_tasks, timeout, self._folder)
        self._queue.put(None)  # the worker ends after what it is doing (a daemon: it never holds up exit)
        self._thread.join(timeout=1.0)

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            try:
                self._hand_on(*item)
            finally:
                self._queue.task_done()

    def _hand_on(self, sender: str, recipients: list[str], content: bytes) -> None:
        host, port = self.address
        try:
            with smtplib.SMTP(host, port, timeout=RELAY_TIMEOUT) as smtp:
                smtp.sendmail(sender, recipients, content)
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("mail relay %s:%s did not take a message for %s (%s); it is kept in %s",
                        host, port, ", ".join(recipients), exc, self._folder)


@dataclass(frozen=True)
class StoredMail:
    """One message as stored in the Maildir. `to` holds the To/Cc addresses and the SMTP envelope recipients."""

    id: str
    path: Path
    sender: str
    to: tuple[str, ...]
    subject: str
    date: datetime | None
    body: str
    message: EmailMessage

    def header(self, name: str) -> str | None:
        value = self.message[name]
        return None if value is None else str(value)


class Mailbox:
    """A Maildir folder (created if missing) that the sink writes to and tests and reports read from."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        try:
            # create=True makes new/, cur/ and tmp/ as every Maildir reader expects.
            self._maildir = stdlib_mailbox.Maildir(str(self.folder), factory=None, create=True)
        except OSError as exc:
            raise ConfigError(f"The mailbox folder {self.folder} cannot be created: {exc}.") from exc
        self._lock = threading.Lock()

    def add(self, raw: bytes) -> str:
        """Store one RFC 5322 message; returns its Maildir key (the file name before the `:2,` info part)."""
        with self._lock:
            return str(self._maildir.add(raw))

    def messages(self) -> list[StoredMail]:
        """Every stored message (new/ and cur/), oldest first by Date header, then by arrival."""
        found: list[tuple[float, int, StoredMail]] = []
        for sub in ("new", "cur"):
            directory = self.folder / sub
            if not directory.is_dir():
                continue
            for path in directory.iterdir():
                if path.name.startswith(".") or not path.is_file():
                    continue
                try:
                    mail = _read(path)
                    arrived = path.stat().st_mtime_ns
                except FileNotFoundError:  # a client moved it from new/ to cur/ while we listed
                    continue
                when = mail.date.timestamp() if mail.date is not None else float("inf")
                found.append((when, arrived, mail))
        found.sort(key=lambda item: (item[0], item[1], item[2].id))
        return [mail for _, _, mail in found]

    def find(
        self,
        subject_prefix: str | None = None,
        to: str | None = None,
        contains: str | None = None,
    ) -> list[StoredMail]:
        """Messages whose subject starts with `subject_prefix`, addressed to `to` (case-insensitive address match),
        and whose body text contains `contains`; a criterion left None matches everything."""
        wanted_to = to.lower() if to is not None else None
        return [
            mail
            for mail in self.messages()
            if (subject_prefix is None or mail.subject.startswith(subject_prefix))
            and (wanted_to is None or wanted_to in (addr.lower() for addr in mail.to))
            and (contains is None or contains in mail.body)
        ]

    def __len__(self) -> int:
        return len(self.messages())


def _read(path: Path) -> StoredMail:
    with path.open("rb") as fh:
        msg = BytesParser(policy=email.policy.default).parse(fh)
    assert isinstance(msg, EmailMessage)
    key = path.name.split(stdlib_mailbox.Maildir.colon, 1)[0]
    sender = str(msg["From"] or msg["Return-Path"] or "")
    addresses = _addresses(msg, "To", "Cc", "Delivered-To")
    date: datetime | None = None
    if msg["Date"] is not None:
        try:
            date = email.utils.parsedate_to_datetime(str(msg["Date"]))
        except (TypeError, ValueError):
            date = None
    return StoredMail(
        id=key,
        path=path,
        sender=sender,
        to=addresses,
        subject=str(msg["Subject"] or ""),
        date=date,
        body=_body_text(msg),
        message=msg,
    )


def _addresses(msg: Message, *headers: str) -> tuple[str, ...]:
    values: list[str] = []
    for name in headers:
        values.extend(str(v) for v in (msg.get_all(name) or []))
    seen: dict[str, None] = {}
    for _, addr in email.utils.getaddresses(values):
        if addr:
            seen.setdefault(addr, None)
    return tuple(seen)


def _body_text(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    content = part.get_content()
    return content if isinstance(content, str) else content.decode("utf-8", "replace")


class _MaildirHandler:
    """aiosmtpd handler: each accepted DATA becomes one Maildir file, as a local delivery agent would write it."""

    def __init__(self, box: Mailbox, relay: _Relay | None = None,
                 failed: Callable[[BaseException], None] | None = None) -> None:
        self._box = box
        self._relay = relay
        self._failed = failed or (lambda exc: None)

    async def handle_exception(self, error: Exception) -> str:
        """aiosmtpd's hook for an exception while serving a session: the sink has failed."""
        self._failed(error)
        return f"500 Error: ({type(error).__name__}) {error}"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        if isinstance(content, str):
            content = content.encode("utf-8")
        # Return-Path and Delivered-To are the trace headers a delivery agent adds (RFC 5321 section 4.4),
        # so the envelope sender and recipients survive in the stored file.
        trace = f"Return-Path: <{envelope.mail_from or ''}>\r\n".encode()
        for rcpt in envelope.rcpt_tos:
            trace += f"Delivered-To: {rcpt}\r\n".encode()
        try:
            self._box.add(trace + content)
        except OSError as exc:
            self._failed(CloudError(f"cannot store a message for {', '.join(envelope.rcpt_tos)} in the mailbox "
                                    f"{self._box.folder}: {exc}"))
            return f"451 Requested action aborted: cannot write to the mailbox {self._box.folder}: {exc}"
        if self._relay is not None:  # the relay gets the message as it came, without our trace headers
            self._relay.put(envelope.mail_from or "", list(envelope.rcpt_tos), content)
        return "250 Message accepted for delivery"


class _BoundController(Controller):
    """aiosmtpd's Controller on a socket we bound ourselves.

    aiosmtpd 1.4 cannot listen on port 0: after binding it connects to `self.port` (still 0) to warm the
    server up. Binding the socket here lets the OS choose a free port with no race, gives us the real port
    before the thread starts, and makes "port taken" a synchronous, clear error.
    """

    def __init__(self, handler: Any, sock: socket.socket) -> None:
        host, port = sock.getsockname()[:2]
        super().__init__(handler, hostname=host, port=port, ready_timeout=10.0)
        self._sock = sock

    def _create_server(self) -> Any:
        return self.loop.create_server(self._factory_invoker, sock=self._sock, ssl=self.ssl_context)

    def close_socket(self) -> None:
        """The listening socket, when the loop that served it is gone."""
        self._sock.close()


class SmtpSink:
    """An SMTP server on a loopback address that stores every message in `mailbox`.

    `port=0` lets the OS pick a free port; read `.port` after `start()`. Runs in its own thread (see the
    module docstring). Usable as a context manager; `stop()` is idempotent and leaves no thread or socket.
    """

    def __init__(self, mailbox: Mailbox, host: str = "127.0.0.1", port: int = 0,
                 relay: tuple[str, int] | None = None,
                 on_failure: Callable[[BaseException], None] | None = None) -> None:
        if not is_loopback(host):
            raise ConfigError(f"The SMTP sink must listen on a loopback address such as 127.0.0.1, not {host!r}.")
        if relay is not None and not is_loopback(relay[0]):
            raise ConfigError(f"The mail relay must be on a loopback address such as 127.0.0.1, not {relay[0]!r}.")
        self.mailbox = mailbox
        self.relay = relay
        self.host = host
        self._requested_port = port
        self._port: int | None = None
        self._controller: _BoundController | None = None
        self._relay: _Relay | None = None
        self._failure: BaseException | None = None
        self._failure_lock = threading.Lock()
        # Called once, from the sink's thread, with its first failure (before the client gets its 451/500).
        self._on_failure = on_failure

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("SmtpSink.port is known only after start().")
        return self._port

    def start(self) -> None:
        if self._controller is not None:
            return
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_STREAM)
        try:
            # SO_REUSEADDR lets a restart reuse a port still in TIME_WAIT; on Linux it does not allow two
            # listeners, so a port held by another server still fails below.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self._requested_port))
            sock.listen(100)
            sock.setblocking(False)
        except OSError as exc:
            sock.close()
            raise CloudError(
                f"The SMTP sink cannot listen on {self.host}:{self._requested_port}: {exc.strerror or exc}. "
                f"Is another mail server using port {self._requested_port}? Choose another port or 0 for any free one."
            ) from exc
        port = sock.getsockname()[1]
        if self.relay == (self.host, port):
            sock.close()
            raise ConfigError(f"The mail relay {self.relay[0]}:{port} is this sink itself: every message would loop.")
        relay = _Relay(self.relay, self.mailbox.folder) if self.relay is not None else None
        controller = _BoundController(_MaildirHandler(self.mailbox, relay, self._record_failure), sock)
        try:
            controller.start()
        except BaseException as exc:
            controller.stop(no_assert=True)
            sock.close()
            if relay is not None:
                relay.close(timeout=0)
            raise CloudError(f"The SMTP sink on {self.host}:{port} did not start: {exc}.") from exc
        self._controller, self._relay = controller, relay
        self._port = int(controller.port)

    def _record_failure(self, exc: BaseException) -> None:
        """From the sink's thread: the first error that means it no longer does its job."""
        with self._failure_lock:
            if self._failure is not None:
                return
            self._failure = exc
        log.error("the SMTP sink on %s:%s failed: %s", self.host, self._port, exc)
        if self._on_failure is not None:
            self._on_failure(exc)

    def failure(self) -> BaseException | None:
        """Why the sink no longer serves or stores mail (the first error), else None. Cheap: the harness
        polls it (harness.app's loop "mail sink (SMTP)")."""
        if self._failure is None:
            controller = self._controller
            if controller is not None and not controller.loop.is_running():
                self._record_failure(CloudError(f"its thread's event loop stopped: 127.0.0.1:{self._port} no "
                                                "longer answers SMTP"))
        return self._failure

    def flush(self, timeout: float = RELAY_DRAIN) -> bool:
        """Wait until the relay (if any) has taken, or failed, every message received so far."""
        return self._relay.flush(timeout) if self._relay is not None else True

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            if controller.loop.is_closed():  # its thread ended on its own (see failure()): nothing to stop
                controller.close_socket()
            else:
                # Stops the loop, closes the listening socket (the server owns it) and joins the thread.
                controller.stop()
        relay, self._relay = self._relay, None
        if relay is not None:
            relay.close()

    def __enter__(self) -> SmtpSink:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

