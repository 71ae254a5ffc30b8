"""Tests of encoding, framing and error mapping against a fake daemon on a Unix socket.

The fake daemon does not check peer credentials; test_daemon.py runs the real one.
"""

import json
import os
import re
import socket
import tempfile
import threading
import unittest
from pathlib import Path

import keychain_auth as ka

REPO = Path(__file__).resolve().parents[2]
GO_FIXTURE = REPO / "client" / "testdata" / "requests.jsonl"
EXTRA_FIXTURE = REPO / "clients" / "testdata" / "requests_extra.jsonl"

SUCCESS = b'{"type":"RESPONSE","status":"success"}\n'
DENIED_UNREGISTERED = b'{"type":"RESPONSE","status":"denied","reason":"unregistered_binary_pending_approval"}\n'


class FakeDaemon:
    """A Unix socket server that runs handler(conn, reader) for each connection in a thread."""

    def __init__(self, handler):
        self._dir = tempfile.TemporaryDirectory()
        self.path = os.path.join(self._dir.name, "agent.sock")
        self.handler = handler
        self.connections = 0
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(self.path)
        self._listener.listen()
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()

    def _accept_loop(self):
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        with conn, conn.makefile("rb") as reader:
            try:
                self.handler(conn, reader)
            except OSError:
                pass

    def close(self):
        self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._thread.join()
        self._dir.cleanup()


class RecordingDaemon(FakeDaemon):
    """A fake daemon that stores every request line and responds with success."""

    def __init__(self):
        self.lines = []
        super().__init__(self._record)

    def _record(self, conn, reader):
        for line in reader:
            self.lines.append(line)
            conn.sendall(SUCCESS)


def parse_call(call):
    """Split a fixture's call description into action, prefix flag and named JSON arguments.

    The format is `<action>[ prefix] name=<JSON> name=<JSON>...`, for example
    `read prefix service="aws" prefixes=["prod:"]`.
    """
    head = re.match(r"(read|write|delete|search)( prefix)? ", call)
    if head is None:
        raise ValueError(f"call {call!r} does not start with an action")
    args = {}
    decoder = json.JSONDecoder()
    pos = head.end()
    while pos < len(call):
        name = re.compile(r"([a-z]+)=").match(call, pos)
        if name is None:
            raise ValueError(f"call {call!r}: expected name= at offset {pos}")
        args[name.group(1)], pos = decoder.raw_decode(call, name.end())
        if pos < len(call):
            if call[pos] != " ":
                raise ValueError(f"call {call!r}: expected a space at offset {pos}")
            pos += 1
    return head.group(1), head.group(2) is not None, args


def invoke(client, call):
    """Make the client call that a fixture line describes."""
    action, prefix, args = parse_call(call)
    service = args.pop("service")
    known = {"targets", "prefixes", "pairs", "attributes"}
    if set(args) - known:
        raise ValueError(f"call {call!r}: unknown arguments {sorted(set(args) - known)}")

    if action == "read" and prefix:
        client.read_prefix(service, *args["prefixes"])
    elif action == "read":
        client.read(service, *args["targets"])
    elif action == "write":
        client.write(service, [tuple(p) for p in args["pairs"]], args.get("attributes"))
    elif action == "delete" and prefix:
        client.delete_prefix(service, *args["prefixes"])
    elif action == "delete":
        client.delete(service, *args["targets"])
    else:
        client.search(service, args.get("prefixes"), args.get("attributes"))


def read_fixture(path):
    entries = []
    with open(path, encoding="utf-8") as f:
        for number, text in enumerate(f, 1):
            entry = json.loads(text)
            if set(entry) != {"call", "line"}:
                raise ValueError(f"{path}:{number}: fields {sorted(entry)}; want call and line")
            entries.append(entry)
    return entries


class RequestLineTest(unittest.TestCase):
    def setUp(self):
        self.daemon = RecordingDaemon()
        self.addCleanup(self.daemon.close)
        self.client = ka.Client(self.daemon.path)
        self.addCleanup(self.client.close)

    def check_fixture(self, path):
        entries = read_fixture(path)
        self.assertGreater(len(entries), 0, f"{path} is empty")
        for entry in entries:
            with self.subTest(call=entry["call"]):
                before = len(self.daemon.lines)
                invoke(self.client, entry["call"])
                self.assertEqual(len(self.daemon.lines), before + 1)
                self.assertEqual(self.daemon.lines[-1], entry["line"].encode("utf-8"))

    def test_go_client_fixture(self):
        self.check_fixture(GO_FIXTURE)

    def test_extra_fixture(self):
        self.check_fixture(EXTRA_FIXTURE)

    def test_encode_request_matches_json_dumps(self):
        req = ka.Request("write", "svc", targets=["k"], values=["v\u2028\x7f"], attributes={"b": "2", "a": "1"})
        want = json.dumps(
            {"type": "REQUEST", "action": "write", "service": "svc", "targets": ["k"], "values": ["v\u2028\x7f"], "attributes": {"a": "1", "b": "2"}},
            ensure_ascii=False,
            separators=(",", ":"),
        )
        self.assertEqual(ka.encode_request(req), want.encode("utf-8") + b"\n")


class ResolveSocketTest(unittest.TestCase):
    def test_order_and_defaults(self):
        def no_socket(path):
            return False

        def system_socket_exists(path):
            return path == ka.SYSTEM_SOCKET

        home = {"HOME": "/home/u"}
        cases = [
            ("explicit wins", dict(explicit="/x.sock", platform="linux", environ={"KEYCHAIN_AUTH_SOCKET": "/env.sock", **home}, is_socket=system_socket_exists), "/x.sock"),
            ("env over system socket", dict(platform="linux", environ={"KEYCHAIN_AUTH_SOCKET": "/env.sock", **home}, is_socket=system_socket_exists), "/env.sock"),
            ("system socket when present", dict(platform="linux", environ={"XDG_RUNTIME_DIR": "/run/user/1", **home}, is_socket=system_socket_exists), ka.SYSTEM_SOCKET),
            ("xdg runtime dir", dict(platform="linux", environ={"XDG_RUNTIME_DIR": "/run/user/1/", **home}, is_socket=no_socket), "/run/user/1/keychain-auth/agent.sock"),
            ("empty xdg runtime dir", dict(platform="linux", environ={"XDG_RUNTIME_DIR": "", **home}, is_socket=no_socket), "/home/u/.cache/keychain-auth/agent.sock"),
            ("empty env override", dict(platform="linux", environ={"KEYCHAIN_AUTH_SOCKET": "", **home}, is_socket=no_socket), "/home/u/.cache/keychain-auth/agent.sock"),
            ("other unix ignores system socket", dict(platform="freebsd14", environ=home, is_socket=system_socket_exists), "/home/u/.cache/keychain-auth/agent.sock"),
            ("darwin", dict(platform="darwin", environ=home, is_socket=system_socket_exists), "/home/u/Library/Application Support/keychain-auth/agent.sock"),
            ("windows", dict(platform="windows", environ={}, is_socket=no_socket), "\\\\.\\pipe\\keychain-auth"),
        ]
        for name, kwargs, want in cases:
            with self.subTest(name):
                self.assertEqual(ka.resolve_socket(**kwargs), want)

    def test_missing_home(self):
        for platform in ("linux", "darwin"):
            with self.subTest(platform):
                with self.assertRaisesRegex(ka.KeychainAuthError, "HOME"):
                    ka.resolve_socket(platform=platform, environ={}, is_socket=lambda p: False)


class FramingTest(unittest.TestCase):
    def serve(self, handler, **client_args):
        daemon = FakeDaemon(handler)
        self.addCleanup(daemon.close)
        client = ka.Client(daemon.path, **client_args)
        self.addCleanup(client.close)
        return daemon, client

    def test_bytes_after_response_kept_for_next_call(self):
        def handler(conn, reader):
            reader.readline()
            first = b'{"type":"RESPONSE","status":"success","results":[{"target":"a","value":"1"}]}\n'
            second = b'{"type":"RESPONSE","status":"success","results":[{"target":"b","value":"2"}]}\n'
            conn.sendall(first + second)
            reader.readline()
            reader.readline()

        daemon, client = self.serve(handler)
        self.assertEqual([r.target for r in client.read("svc", "a")], ["a"])
        self.assertEqual([r.target for r in client.read("svc", "b")], ["b"])
        self.assertEqual(daemon.connections, 1)

    def test_response_split_into_single_bytes(self):
        response = b'{"type":"RESPONSE","status":"success","results":[{"target":"k","value":"v","attributes":{"a":"1"}}]}\n'

        def handler(conn, reader):
            reader.readline()
            for i in range(len(response)):
                conn.sendall(response[i : i + 1])
            reader.readline()

        _, client = self.serve(handler)
        self.assertEqual(client.read("svc", "k"), [ka.Result("k", "v", {"a": "1"})])

    def line_of_size(self, size):
        """Return a success response line of size bytes and the length of its value."""
        head = b'{"type":"RESPONSE","status":"success","results":[{"target":"k","value":"'
        tail = b'"}]}'
        value_size = size - len(head) - len(tail)
        return head + b"x" * value_size + tail, value_size

    def test_response_at_line_limit_accepted(self):
        line, value_size = self.line_of_size(ka.MAX_LINE_SIZE)

        def handler(conn, reader):
            reader.readline()
            conn.sendall(line + b"\n")
            reader.readline()

        _, client = self.serve(handler)
        results = client.read("svc", "k")
        self.assertEqual(len(results[0].value), value_size)

    def test_response_over_line_limit_rejected(self):
        line, _ = self.line_of_size(ka.MAX_LINE_SIZE + 1)

        def handler(conn, reader):
            if reader.readline():
                conn.sendall(line + b"\n")
            reader.readline()

        daemon, client = self.serve(handler)
        with self.assertRaises(ka.LineTooLongError):
            client.read("svc", "k")
        # The stream is out of step, so the next call dials again.
        with self.assertRaises(ka.LineTooLongError):
            client.read("svc", "k")
        self.assertEqual(daemon.connections, 2)

    def test_endless_response_rejected(self):
        def handler(conn, reader):
            reader.readline()
            chunk = b"x" * 65536
            while True:
                conn.sendall(chunk)

        _, client = self.serve(handler)
        with self.assertRaises(ka.LineTooLongError):
            client.read("svc", "k")

    def test_request_over_line_limit_not_sent(self):
        received = []

        def handler(conn, reader):
            received.extend(reader)

        _, client = self.serve(handler)
        with self.assertRaises(ka.LineTooLongError):
            client.write("svc", [("k", "x" * ka.MAX_LINE_SIZE)])
        client.close()
        self.assertEqual(received, [])

    def test_resend_once_after_idle_close(self):
        def handler(conn, reader):
            # Like the daemon's idle timeout: respond to one request, then close.
            reader.readline()
            conn.sendall(SUCCESS)

        daemon, client = self.serve(handler)
        client.read("svc", "k")
        client.read("svc", "k")
        self.assertEqual(daemon.connections, 2)

    def test_no_resend_on_fresh_connection(self):
        def handler(conn, reader):
            reader.readline()

        daemon, client = self.serve(handler)
        with self.assertRaisesRegex(ka.TransportError, "closed by the daemon"):
            client.read("svc", "k")
        self.assertEqual(daemon.connections, 1)

    def test_partial_response_is_error(self):
        def handler(conn, reader):
            reader.readline()
            conn.sendall(b'{"type":"RESPONSE"')

        _, client = self.serve(handler)
        with self.assertRaisesRegex(ka.TransportError, "middle of a response line"):
            client.read("svc", "k")

    def test_denial_read_after_daemon_closed(self):
        closed = threading.Event()

        def handler(conn, reader):
            # Like the daemon for an unregistered binary: deny unprompted and close.
            conn.sendall(DENIED_UNREGISTERED)
            conn.close()
            closed.set()

        _, client = self.serve(handler)
        client.connect()
        closed.wait()
        with self.assertRaises(ka.UnregisteredBinaryError):
            client.read("svc", "k")

    def test_timeout(self):
        def handler(conn, reader):
            reader.readline()
            reader.readline()

        _, client = self.serve(handler, timeout=0.05)
        with self.assertRaisesRegex(ka.TransportError, "timed out"):
            client.read("svc", "k")

    def test_closed_client(self):
        _, client = self.serve(lambda conn, reader: None)
        client.close()
        with self.assertRaises(ka.ClientClosedError):
            client.read("svc", "k")


class ErrorMappingTest(unittest.TestCase):
    def respond(self, response):
        def handler(conn, reader):
            for _ in reader:
                conn.sendall(response)

        daemon = FakeDaemon(handler)
        self.addCleanup(daemon.close)
        client = ka.Client(daemon.path)
        self.addCleanup(client.close)
        return client

    def test_reason_codes(self):
        cases = [
            ("unregistered_binary_pending_approval", "denied", ka.UnregisteredBinaryError),
            ("service_not_allowed", "denied", ka.ServiceNotAllowedError),
            ("action_not_in_policy", "denied", ka.ActionNotInPolicyError),
            ("malformed_request", "error", ka.MalformedRequestError),
            ("internal_error", "error", ka.InternalError),
            ("reason_from_the_future", "error", ka.InternalError),
        ]
        for reason, status, cls in cases:
            with self.subTest(reason):
                line = json.dumps({"type": "RESPONSE", "status": status, "reason": reason}).encode() + b"\n"
                client = self.respond(line)
                with self.assertRaises(cls) as caught:
                    client.read("svc", "k")
                self.assertIs(type(caught.exception), cls)
                self.assertEqual(caught.exception.reason, reason)
                self.assertEqual(caught.exception.status, status)
                self.assertEqual(caught.exception.service, "svc")

    def test_invalid_responses(self):
        cases = [
            b"not json\n",
            b"[]\n",
            b'{"type":"REQUEST","status":"success"}\n',
            b'{"type":"RESPONSE","status":"maybe"}\n',
            b'{"type":"RESPONSE","status":"success","results":[{"value":"v"}]}\n',
            b'{"type":"RESPONSE","status":"success","results":[{"target":"k","attributes":{"a":1}}]}\n',
            b'{"type":"RESPONSE","status":"success","results":[{"target":"\xff"}]}\n',
        ]
        for line in cases:
            with self.subTest(line=line):
                client = self.respond(line)
                with self.assertRaises(ka.ProtocolError):
                    client.read("svc", "k")


class ValidationTest(unittest.TestCase):
    def setUp(self):
        self.daemon = RecordingDaemon()
        self.addCleanup(self.daemon.close)
        self.client = ka.Client(self.daemon.path)
        self.addCleanup(self.client.close)

    def test_rejected_before_sending(self):
        cases = [
            ("empty service", lambda c: c.read("", "k")),
            ("no targets", lambda c: c.read("svc")),
            ("empty target", lambda c: c.delete("svc", "")),
            ("no prefixes", lambda c: c.read_prefix("svc")),
            ("lone surrogate value", lambda c: c.write("svc", [("k", "\udc80")])),
            ("lone surrogate attribute", lambda c: c.search("svc", attributes={"a": "\ud800"})),
        ]
        for name, call in cases:
            with self.subTest(name):
                with self.assertRaises(ka.MalformedRequestError) as caught:
                    call(self.client)
                self.assertIsNone(caught.exception.status)
        self.assertEqual(self.daemon.lines, [])

    def test_wrong_types(self):
        cases = [
            ("list as target", lambda c: c.read("svc", ["k"])),
            ("bytes value", lambda c: c.write("svc", [("k", b"v")])),
            ("int attribute", lambda c: c.write("svc", {"k": "v"}, {"n": 1})),
        ]
        for name, call in cases:
            with self.subTest(name):
                with self.assertRaises(TypeError):
                    call(self.client)
        self.assertEqual(self.daemon.lines, [])

    def test_errors_omit_values(self):
        with self.assertRaises(ka.MalformedRequestError) as caught:
            self.client.write("svc", [("k", "s3cret"), ("", "s3cret")])
        self.assertNotIn("s3cret", str(caught.exception))

    def test_result_repr_omits_value(self):
        self.assertNotIn("s3cret", repr(ka.Result("k", "s3cret", {"a": "1"})))


if __name__ == "__main__":
    unittest.main()
