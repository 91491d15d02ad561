"""The SMTP sink and the Maildir it writes: real aiosmtpd server, real smtplib client, real files."""

from __future__ import annotations

import mailbox as stdlib_mailbox
import smtplib
import socket
import threading
from email import policy
from email.parser import BytesParser

import pytest

from harness.errors import CloudError, ConfigError
from harness.mailbox import Mailbox, SmtpSink


def _raw(subject: str, to: str = "ops@example.com", body: str = "hello", date: str = "Mon, 05 Aug 2019 17:04:03 +0000") -> bytes:
    return (
        f"From: sender@example.com\r\nTo: {to}\r\nSubject: {subject}\r\nDate: {date}\r\n\r\n{body}\r\n"
    ).encode()


def _send(sink: SmtpSink, raw: bytes, to: str = "ops@example.com") -> None:
    with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as client:
        client.sendmail("sender@example.com", [to], raw)


def test_a_sent_message_is_a_maildir_file_that_stdlib_mailbox_and_email_open(sink: SmtpSink, box: Mailbox) -> None:
    _send(sink, _raw("Disk full", body="the disk is full"))

    [mail] = box.messages()
    assert mail.subject == "Disk full"
    assert mail.sender == "sender@example.com"
    assert mail.to == ("ops@example.com",)
    assert mail.body == "the disk is full\n"
    assert mail.date is not None and mail.date.isoformat() == "2019-08-05T17:04:03+00:00"
    assert mail.path.parent.name == "new" and mail.path.parent.parent == box.folder
    # The envelope survives as delivery-agent trace headers.
    assert mail.header("Return-Path") == "<sender@example.com>"
    assert mail.header("Delivered-To") == "ops@example.com"

    # Any Maildir reader sees the same message.
    maildir = stdlib_mailbox.Maildir(str(box.folder), factory=None, create=False)
    assert [m["Subject"] for m in maildir] == ["Disk full"]
    with mail.path.open("rb") as fh:
        parsed = BytesParser(policy=policy.default).parse(fh)
    assert parsed["Subject"] == "Disk full"


def test_port_zero_gets_a_real_port_and_stop_frees_it_and_its_thread(box: Mailbox) -> None:
    threads_before = threading.active_count()
    sink = SmtpSink(box, port=0)
    sink.start()
    port = sink.port
    assert port > 0
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        assert client.noop()[0] == 250
    sink.stop()
    sink.stop()  # idempotent

    assert threading.active_count() == threads_before
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    # The port is free again: a new sink can take it.
    again = SmtpSink(box, port=port)
    again.start()
    try:
        assert again.port == port
    finally:
        again.stop()


def test_a_taken_port_is_a_clear_error_naming_the_port(box: Mailbox) -> None:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    taken = holder.getsockname()[1]
    threads_before = threading.active_count()
    try:
        with pytest.raises(CloudError, match=rf"127\.0\.0\.1:{taken}.*port {taken}"):
            SmtpSink(box, port=taken).start()
    finally:
        holder.close()
    assert threading.active_count() == threads_before


def test_only_loopback_addresses_are_accepted(box: Mailbox) -> None:
    with pytest.raises(ConfigError, match="0.0.0.0"):
        SmtpSink(box, host="0.0.0.0")


def test_find_filters_by_subject_prefix_recipient_and_body(sink: SmtpSink, box: Mailbox) -> None:
    _send(sink, _raw('ALARM: "cpu-high"', to="a@example.com", body="CPU above 70"), to="a@example.com")
    _send(sink, _raw('OK: "cpu-high"', to="b@example.com", body="CPU back to normal"), to="b@example.com")
    _send(sink, _raw('ALARM: "5xx"', to="b@example.com", body="errors"), to="b@example.com")

    assert [m.subject for m in box.find(subject_prefix="ALARM:")] == ['ALARM: "cpu-high"', 'ALARM: "5xx"']
    assert [m.subject for m in box.find(to="B@example.com")] == ['OK: "cpu-high"', 'ALARM: "5xx"']
    assert [m.subject for m in box.find(subject_prefix="ALARM:", to="b@example.com")] == ['ALARM: "5xx"']
    assert [m.subject for m in box.find(contains="CPU")] == ['ALARM: "cpu-high"', 'OK: "cpu-high"']
    assert box.find(subject_prefix="INSUFFICIENT_DATA:") == []


def test_messages_are_ordered_by_date_and_read_from_cur_too(sink: SmtpSink, box: Mailbox) -> None:
    _send(sink, _raw("later", date="Mon, 05 Aug 2019 17:10:00 +0000"))
    _send(sink, _raw("earlier", date="Mon, 05 Aug 2019 17:00:00 +0000"))
    assert [m.subject for m in box.messages()] == ["earlier", "later"]

    # A mail client that has seen a message moves it to cur/ with an info suffix.
    maildir = stdlib_mailbox.Maildir(str(box.folder), factory=None)
    for key in list(maildir.keys()):
        msg = maildir[key]
        msg.set_subdir("cur")
        msg.add_flag("S")
        maildir[key] = msg
    listed = box.messages()
    assert [m.subject for m in listed] == ["earlier", "later"]
    assert all(m.path.parent.name == "cur" for m in listed)


def test_a_relay_gets_every_message_with_its_envelope_and_the_maildir_keeps_it(box: Mailbox, tmp_path) -> None:
    # The relay is another real SMTP server (in compose, mailpit); here a second sink with its own Maildir.
    relayed = Mailbox(tmp_path / "relayed")
    with SmtpSink(relayed) as relay, SmtpSink(box, relay=("127.0.0.1", relay.port)) as sink:
        _send(sink, _raw("ALARM: cpu", to="admin@example.com", body="over 85"), to="admin@example.com")
        assert sink.flush()
        [kept], [handed_on] = box.messages(), relayed.messages()
    assert kept.subject == handed_on.subject == "ALARM: cpu"
    assert handed_on.body == "over 85\n"
    assert handed_on.header("Return-Path") == "<sender@example.com>"
    assert handed_on.header("Delivered-To") == "admin@example.com"
    assert handed_on.message.get_all("Delivered-To") == ["admin@example.com"]  # not the sink's trace twice


def test_a_relay_that_is_down_costs_a_warning_naming_it_not_the_message(box: Mailbox, caplog) -> None:
    from harness.net import free_port

    port = free_port()  # nothing listens there
    with SmtpSink(box, relay=("127.0.0.1", port)) as sink:
        with caplog.at_level("WARNING", logger="harness.mailbox"):
            _send(sink, _raw("ALARM: 5xx"))
            assert sink.flush()
    assert [m.subject for m in box.messages()] == ["ALARM: 5xx"]
    assert f"mail relay 127.0.0.1:{port}" in caplog.text and "ops@example.com" in caplog.text


@pytest.mark.parametrize(("value", "culprit"), [
    ("127.0.0.1:1025", None),
    ("[::1]:1025", None),
    ("10.0.0.5:25", "loopback"),
    ("mail.example.com:25", "loopback"),
    ("127.0.0.1", "HOST:PORT"),
    ("127.0.0.1:0", "HOST:PORT"),
    ("127.0.0.1:70000", "HOST:PORT"),
    ("127.0.0.1:\u00b2", "HOST:PORT"),  # '²'.isdigit() is True, int('²') fails
    ("localhost:1025", "IP address"),
])
def test_a_relay_address_is_checked(value: str, culprit: str | None) -> None:
    from harness.mailbox import parse_relay

    if culprit is None:
        assert parse_relay(value)[1] == 1025
        return
    with pytest.raises(ConfigError) as e:
        parse_relay(value, "--mail-relay")
    assert "--mail-relay" in str(e.value) and value in str(e.value) and culprit in str(e.value)


def test_a_silent_relay_never_delays_the_sender_and_is_refused_at_start(box: Mailbox, caplog, monkeypatch) -> None:
    import time

    from harness import mailbox
    from harness.mailbox import relay_answers

    monkeypatch.setattr(mailbox, "RELAY_TIMEOUT", 2.0)
    monkeypatch.setattr(mailbox, "RELAY_PROBE_TIMEOUT", 0.5)
    with socket.socket() as silent:  # accepts connections (the kernel's backlog) but never greets
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        address = ("127.0.0.1", silent.getsockname()[1])
        with pytest.raises(ConfigError, match=rf"mail relay 127\.0\.0\.1:{address[1]} accepts connections but"):
            relay_answers(address)
        with caplog.at_level("WARNING", logger="harness.mailbox"):
            with SmtpSink(box, relay=address) as sink:
                t0 = time.monotonic()
                _send(sink, _raw("ALARM: cpu"))
                sent_in = time.monotonic() - t0
                # The sender had its 250 long before the relay's timeout: the hand-over is the worker's.
                assert sent_in < mailbox.RELAY_TIMEOUT, sent_in
                assert [m.subject for m in box.messages()] == ["ALARM: cpu"]
            # stop() waited for the relay to time out, and said so.
        assert f"mail relay 127.0.0.1:{address[1]} did not take a message" in caplog.text
    assert not [t for t in threading.enumerate() if t.name.startswith("mail relay")]


def test_a_relay_that_is_the_sink_itself_is_refused(box: Mailbox) -> None:
    from harness.net import free_port

    port = free_port()
    with pytest.raises(ConfigError, match="loop"):
        SmtpSink(box, port=port, relay=("127.0.0.1", port)).start()


def test_nothing_listening_at_the_relay_is_only_reported() -> None:
    from harness.mailbox import relay_answers
    from harness.net import free_port

    assert relay_answers(("127.0.0.1", free_port())) is not None


# -- supervision: a sink that fails says so (harness.app's loop "mail sink (SMTP)" raises it) ---------------
def test_a_message_the_sink_cannot_store_is_its_failure_naming_the_mailbox(sink: SmtpSink, box: Mailbox,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    assert sink.failure() is None

    def full(raw: bytes) -> str:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(box, "add", full)
    with pytest.raises(smtplib.SMTPDataError) as err:
        _send(sink, _raw("Disk full"))
    assert err.value.smtp_code == 451  # the sender is told too
    failure = sink.failure()
    assert isinstance(failure, CloudError)
    assert str(box.folder) in str(failure) and "No space left on device" in str(failure)
    assert "ops@example.com" in str(failure)
    monkeypatch.undo()
    _send(sink, _raw("later"))  # still serving: the first failure stays the sink's failure
    assert sink.failure() is failure


def test_an_error_while_serving_a_session_is_the_sinks_failure(sink: SmtpSink, box: Mailbox,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(raw: bytes) -> str:
        raise RuntimeError("injected: the handler has a bug")

    monkeypatch.setattr(box, "add", broken)
    with pytest.raises(smtplib.SMTPDataError) as err:
        _send(sink, _raw("x"))
    assert err.value.smtp_code == 500
    failure = sink.failure()
    assert isinstance(failure, RuntimeError) and "injected" in str(failure)


def test_a_sink_whose_loop_stopped_has_failed_and_a_stopped_sink_has_not(box: Mailbox) -> None:
    sink = SmtpSink(box)
    sink.start()
    assert sink.failure() is None
    loop = sink._controller.loop  # type: ignore[union-attr]
    stopped = threading.Event()
    loop.call_soon_threadsafe(lambda: (loop.stop(), stopped.set()))
    assert stopped.wait(5)
    for _ in range(100):  # run_forever returns right after the callback
        if not loop.is_running():
            break
        threading.Event().wait(0.01)
    failure = sink.failure()
    assert isinstance(failure, CloudError) and "event loop stopped" in str(failure) and str(sink.port) in str(failure)
    sink.stop()

    other = SmtpSink(box)
    other.start()
    other.stop()
    assert other.failure() is None  # stopping on purpose is no failure
