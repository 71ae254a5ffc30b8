"""Reference client for the keychain-auth daemon, using only the standard library.

The daemon identifies a caller by the executable of the connected process. For
a Python program that executable is the interpreter (``sys.executable``), so
registering it authorizes every script that interpreter runs. The client sends
no token: the open connection is the credential, which is why the socket is
created close-on-exec and is never inherited by child processes.

Requests are encoded exactly as the Go client encodes them (see "Canonical
encoding" in docs/PROTOCOL.md). Each non-success response raises the
ResponseError subclass for its reason code, and a denial is never retried.

A Client is safe to share between threads: calls are serialized on its one
connection. On Windows the named pipe is opened with pywin32 when it is
installed and with the built-in ``open`` otherwise.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import socket
import stat
import sys
import threading
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping, Optional, Sequence, Tuple, Union

__all__ = [
    "MAX_LINE_SIZE",
    "ENV_SOCKET",
    "SYSTEM_SOCKET",
    "WINDOWS_PIPE",
    "Client",
    "Request",
    "Response",
    "Result",
    "encode_request",
    "resolve_socket",
    "KeychainAuthError",
    "DaemonNotRunningError",
    "ClientClosedError",
    "TransportError",
    "ProtocolError",
    "LineTooLongError",
    "ResponseError",
    "UnregisteredBinaryError",
    "ServiceNotAllowedError",
    "ActionNotInPolicyError",
    "MalformedRequestError",
    "InternalError",
]

# Maximum length in bytes of a request or response line, excluding the newline.
MAX_LINE_SIZE = 1 << 20

ENV_SOCKET = "KEYCHAIN_AUTH_SOCKET"
SYSTEM_SOCKET = "/run/keychain-auth/agent.sock"
WINDOWS_PIPE = "\\\\.\\pipe\\keychain-auth"

REASON_UNREGISTERED = "unregistered_binary_pending_approval"
REASON_SERVICE_NOT_ALLOWED = "service_not_allowed"
REASON_ACTION_NOT_IN_POLICY = "action_not_in_policy"
REASON_MALFORMED_REQUEST = "malformed_request"
REASON_INTERNAL_ERROR = "internal_error"

_ACTIONS = ("read", "write", "delete", "search")
_STATUSES = ("success", "denied", "error")
_RECV_SIZE = 64 * 1024


# Errors


def _quote(s: str) -> str:
    """Quote a public value (a service or path) the way Go's %q does for ASCII."""
    return json.dumps(s, ensure_ascii=False)


class KeychainAuthError(Exception):
    """Base class of every error this module raises."""


class DaemonNotRunningError(KeychainAuthError):
    """Nothing listens on the endpoint: the socket is missing or refuses connections."""

    def __init__(self, socket_path: str, cause: BaseException):
        self.socket_path = socket_path
        super().__init__(
            f"connect {_quote(socket_path)}: keychain-auth daemon is not running ({cause}); "
            'start it with "keychain-auth start"'
        )


class ClientClosedError(KeychainAuthError):
    """A call was made after Client.close."""


class TransportError(KeychainAuthError):
    """The connection failed, timed out or was closed during a call."""


class ProtocolError(KeychainAuthError):
    """The daemon sent a response this client cannot decode."""


class LineTooLongError(ProtocolError):
    """A request or response line is longer than MAX_LINE_SIZE."""


class ResponseError(KeychainAuthError):
    """A response whose status is not success, or a request rejected before sending.

    ``status`` is ``"denied"`` or ``"error"``; it is ``None`` when the client
    rejected the request itself. ``reason`` is the reason code as sent.
    """

    reason_code = ""

    def __init__(self, action: str, service: str, status: Optional[str], reason: str, detail: str = ""):
        self.action = action
        self.service = service
        self.status = status
        self.reason = reason
        super().__init__(self._message(detail))

    def _message(self, detail: str) -> str:
        head = f"{self.action} {_quote(self.service)}: {self.status}: {self.reason}"
        return f"{head}; {detail}" if detail else head


class UnregisteredBinaryError(ResponseError):
    """The interpreter is neither registered nor signed, and waits in the pending queue.

    ``hash`` is the SHA-256 of ``sys.executable`` (``"sha256:"`` and 64 hex
    digits), or ``None`` when that file cannot be read. ``executable`` is its
    resolved path. The daemon hashes the file the kernel reports for this
    process, so these match what "keychain-auth list-pending" shows.
    """

    reason_code = REASON_UNREGISTERED

    def __init__(self, action: str, service: str, status: Optional[str], reason: str, detail: str = ""):
        self.executable, self.hash = _interpreter_identity()
        detail = (
            f"this program runs on the interpreter {_quote(self.executable)}, which is waiting for approval: "
            f'review it with "keychain-auth list-pending", then run "keychain-auth approve {self.hash or "<hash>"}". '
            "Approving an interpreter authorizes every script it runs"
        )
        super().__init__(action, service, status, reason, detail)


class ServiceNotAllowedError(ResponseError):
    """The interpreter lacks the read or write right for the service."""

    reason_code = REASON_SERVICE_NOT_ALLOWED

    def __init__(self, action: str, service: str, status: Optional[str], reason: str, detail: str = ""):
        flag = "--write" if action in ("write", "delete") else "--read"
        detail = detail or f'grant it with "keychain-auth grant {_interpreter_path()} {flag} {service}"'
        super().__init__(action, service, status, reason, detail)


class ActionNotInPolicyError(ResponseError):
    """A search, prefix read or prefix delete without the search right."""

    reason_code = REASON_ACTION_NOT_IN_POLICY

    def __init__(self, action: str, service: str, status: Optional[str], reason: str, detail: str = ""):
        detail = detail or (
            "prefix reads, prefix deletes and search need the search right: "
            f'grant it with "keychain-auth grant {_interpreter_path()} --search-service {service}"'
        )
        super().__init__(action, service, status, reason, detail)


class MalformedRequestError(ResponseError):
    """The daemon, or this client before sending, found the request invalid.

    ``status`` is ``None`` when the client rejected the request itself.
    """

    reason_code = REASON_MALFORMED_REQUEST


class InternalError(ResponseError):
    """The daemon's secret store or audit log failed.

    The protocol's list of reason codes is closed, so a reason this client does
    not know is reported as this error with ``reason`` as the daemon sent it.
    """

    reason_code = REASON_INTERNAL_ERROR

    def __init__(self, action: str, service: str, status: Optional[str], reason: str, detail: str = ""):
        if not detail:
            if reason == REASON_INTERNAL_ERROR:
                detail = "the daemon's secret store or audit log failed, see the daemon's log"
            else:
                detail = f"unknown reason code {_quote(reason)}, handled as internal_error"
        super().__init__(action, service, status, reason, detail)


_ERRORS_BY_REASON = {
    cls.reason_code: cls
    for cls in (
        UnregisteredBinaryError,
        ServiceNotAllowedError,
        ActionNotInPolicyError,
        MalformedRequestError,
        InternalError,
    )
}


def _interpreter_path() -> str:
    """Return the resolved path of sys.executable, the path the daemon registers."""
    return os.path.realpath(sys.executable) if sys.executable else "<interpreter path>"


def _interpreter_identity() -> Tuple[str, Optional[str]]:
    """Return the resolved path of sys.executable and its "sha256:" hash, or None."""
    if not sys.executable:
        return _interpreter_path(), None
    path = _interpreter_path()
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
    except OSError:
        return path, None
    return path, "sha256:" + digest.hexdigest()


# Requests and responses


@dataclass
class Request:
    """One request. ``match`` is ``"exact"`` or ``"prefix"``; ``None`` fields are omitted."""

    action: str
    service: str
    match: str = "exact"
    targets: Optional[Sequence[str]] = None
    values: Optional[Sequence[str]] = None
    attributes: Optional[Mapping[str, str]] = None


@dataclass(frozen=True)
class Result:
    """One item of a response. ``value`` is set only by reads; repr() leaves it out."""

    target: str
    value: Optional[str] = field(default=None, repr=False)
    attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Response:
    """A decoded response line."""

    status: str
    reason: Optional[str] = None
    results: Tuple[Result, ...] = ()


def encode_request(req: Request) -> bytes:
    """Encode req as one canonical request line, newline included.

    Fields appear in the order type, action, service, match (only when
    prefix), targets (when not None), values (write only) and attributes (when
    non-empty, keys sorted by code point), which is byte for byte what the Go
    client sends. The request is not validated.
    """
    obj = {"type": "REQUEST", "action": req.action, "service": req.service}
    if req.match == "prefix":
        obj["match"] = "prefix"
    if req.targets is not None:
        obj["targets"] = list(req.targets)
    if req.action == "write":
        obj["values"] = list(req.values) if req.values is not None else []
    if req.attributes:
        obj["attributes"] = dict(sorted(req.attributes.items()))
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    return text.encode("utf-8") + b"\n"


def _validate(req: Request) -> None:
    """Apply the daemon's request rules before sending, naming fields and never values.

    Raises TypeError for a value of the wrong Python type and
    MalformedRequestError (with status None) for a protocol rule.
    """

    def malformed(detail: str) -> MalformedRequestError:
        return MalformedRequestError(req.action, req.service, None, REASON_MALFORMED_REQUEST, detail + " (rejected before sending)")

    def check_str(name: str, value: object) -> None:
        if not isinstance(value, str):
            raise TypeError(f"{req.action}: {name} must be str, not {type(value).__name__}")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise malformed(f"{name} contains a lone surrogate and is not valid Unicode") from None

    check_str("action", req.action)
    check_str("service", req.service)
    if req.action not in _ACTIONS:
        raise malformed(f"action must be one of {', '.join(_ACTIONS)}")
    if not req.service:
        raise malformed("service is empty")
    if req.match not in ("exact", "prefix"):
        raise malformed('match must be "exact" or "prefix"')
    if req.match == "prefix" and req.action == "write":
        raise malformed('match "prefix" is not allowed with action "write"')

    targets = list(req.targets) if req.targets is not None else []
    if req.action != "search" and not targets:
        raise malformed("targets is missing or empty")
    for i, target in enumerate(targets):
        check_str(f"targets[{i}]", target)
        if not target:
            raise malformed(f"targets[{i}] is empty")

    if req.action == "write":
        values = list(req.values) if req.values is not None else []
        if len(values) != len(targets):
            raise malformed(f"{len(values)} values for {len(targets)} targets")
        for i, value in enumerate(values):
            check_str(f"values[{i}]", value)
    elif req.values is not None:
        raise malformed('values is only allowed with action "write"')

    if req.attributes is not None:
        if not isinstance(req.attributes, Mapping):
            raise TypeError(f"{req.action}: attributes must be a mapping, not {type(req.attributes).__name__}")
        for key, value in req.attributes.items():
            check_str("an attribute key", key)
            check_str(f"attribute {_quote(key)}", value)


def _decode_response(line: bytes) -> Response:
    """Decode one response line, raising ProtocolError for anything off the protocol."""
    try:
        obj = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise ProtocolError(f"decode response: {e}") from None

    if not isinstance(obj, dict) or obj.get("type") != "RESPONSE":
        raise ProtocolError('decode response: not an object with "type":"RESPONSE"')
    status = obj.get("status")
    if status not in _STATUSES:
        raise ProtocolError(f"decode response: invalid status {status!r}")
    reason = obj.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise ProtocolError("decode response: reason is not a string")

    raw_results = obj.get("results", [])
    if not isinstance(raw_results, list):
        raise ProtocolError("decode response: results is not an array")
    results = []
    for i, item in enumerate(raw_results):
        if not isinstance(item, dict) or not isinstance(item.get("target"), str):
            raise ProtocolError(f"decode response: results[{i}] has no string target")
        value = item.get("value")
        if value is not None and not isinstance(value, str):
            raise ProtocolError(f"decode response: results[{i}].value is not a string")
        attributes = item.get("attributes", {})
        if not isinstance(attributes, dict) or not all(isinstance(v, str) for v in attributes.values()):
            raise ProtocolError(f"decode response: results[{i}].attributes is not an object of strings")
        results.append(Result(item["target"], value, attributes))
    return Response(status, reason, tuple(results))


# Endpoint


def _current_platform() -> str:
    if sys.platform == "win32":
        return "windows"
    if sys.platform.startswith("linux"):
        return "linux"
    return sys.platform


def _is_socket(path: str) -> bool:
    try:
        return stat.S_ISSOCK(os.stat(path).st_mode)
    except OSError:
        return False


def resolve_socket(
    explicit: Optional[str] = None,
    platform: Optional[str] = None,
    environ: Optional[Mapping[str, str]] = None,
    is_socket: Callable[[str], bool] = _is_socket,
) -> str:
    """Return the endpoint to dial, in the Go client's order.

    The order is: ``explicit``; the KEYCHAIN_AUTH_SOCKET environment variable;
    on Linux, /run/keychain-auth/agent.sock when it is a socket; then the
    platform default. ``platform`` is ``"linux"``, ``"darwin"``, ``"windows"``
    or another ``sys.platform`` value, which follows the Linux user rules.
    """
    env = os.environ if environ is None else environ
    plat = _current_platform() if platform is None else platform

    if explicit:
        return explicit
    if env.get(ENV_SOCKET):
        return env[ENV_SOCKET]
    if plat == "linux" and is_socket(SYSTEM_SOCKET):
        return SYSTEM_SOCKET
    if plat == "windows":
        return WINDOWS_PIPE

    home = env.get("HOME", "")
    if plat == "darwin":
        if not home:
            raise KeychainAuthError(f"resolve socket: HOME is not set; set HOME or {ENV_SOCKET}")
        return posixpath.normpath(posixpath.join(home, "Library", "Application Support", "keychain-auth", "agent.sock"))
    runtime_dir = env.get("XDG_RUNTIME_DIR", "")
    if runtime_dir:
        return posixpath.normpath(posixpath.join(runtime_dir, "keychain-auth", "agent.sock"))
    if not home:
        raise KeychainAuthError(f"resolve socket: HOME and XDG_RUNTIME_DIR are not set; set one of them or {ENV_SOCKET}")
    return posixpath.normpath(posixpath.join(home, ".cache", "keychain-auth", "agent.sock"))


# Transport


class _PeerClosedError(TransportError):
    """The daemon closed the connection before sending any byte of a response."""


def _new_unix_socket() -> socket.socket:
    """Create a Unix stream socket with close-on-exec set and verified.

    Linux sets the flag atomically with SOCK_CLOEXEC. Where that flag does not
    exist (macOS), Python sets FD_CLOEXEC right after socket(2), so a fork
    from another thread in that instant could copy the descriptor.
    """
    kind = socket.SOCK_STREAM | getattr(socket, "SOCK_CLOEXEC", 0)
    sock = socket.socket(socket.AF_UNIX, kind)
    try:
        import fcntl

        flags = fcntl.fcntl(sock.fileno(), fcntl.F_GETFD)
        if not flags & fcntl.FD_CLOEXEC:
            fcntl.fcntl(sock.fileno(), fcntl.F_SETFD, flags | fcntl.FD_CLOEXEC)
            flags = fcntl.fcntl(sock.fileno(), fcntl.F_GETFD)
        if not flags & fcntl.FD_CLOEXEC:
            raise TransportError("create socket: FD_CLOEXEC could not be set")
    except BaseException:
        sock.close()
        raise
    return sock


class _UnixTransport:
    def __init__(self, path: str, timeout: Optional[float]):
        self._sock = _new_unix_socket()
        try:
            self._sock.settimeout(timeout)
            self._sock.connect(path)
        except (FileNotFoundError, ConnectionRefusedError) as e:
            self._sock.close()
            raise DaemonNotRunningError(path, e) from None
        except socket.timeout:
            self._sock.close()
            raise TransportError(f"connect {_quote(path)}: timed out after {timeout} s") from None
        except OSError as e:
            self._sock.close()
            raise TransportError(f"connect {_quote(path)}: {e}") from None

    def fileno(self) -> int:
        return self._sock.fileno()

    def settimeout(self, timeout: Optional[float]) -> None:
        self._sock.settimeout(timeout)

    def send(self, data: bytes) -> None:
        self._sock.sendall(data)

    def recv(self) -> bytes:
        return self._sock.recv(_RECV_SIZE)

    def close(self) -> None:
        self._sock.close()


class _PipeTransport:
    """A Windows named pipe client handle, which is never inheritable.

    With pywin32 the pipe is opened with the anonymous impersonation level, so
    the daemon cannot act with this process's token.
    """

    # CreateFile flags from winbase.h: SECURITY_SQOS_PRESENT | SECURITY_ANONYMOUS.
    _SQOS_ANONYMOUS = 0x00100000 | 0x0

    def __init__(self, path: str, timeout: Optional[float]):
        # NOTE: timeout is not applied to pipe I/O, which blocks; this path is
        # not exercised by the tests, which run on Linux.
        try:
            import win32file  # type: ignore[import-not-found]
        except ImportError:
            win32file = None
        self._win32file = win32file
        try:
            if win32file is not None:
                self._handle = win32file.CreateFile(
                    path,
                    win32file.GENERIC_READ | win32file.GENERIC_WRITE,
                    0,
                    None,
                    win32file.OPEN_EXISTING,
                    self._SQOS_ANONYMOUS,
                    None,
                )
            else:
                # Python opens files non-inheritable, but without pywin32 the
                # impersonation level stays at the Windows default.
                self._file = open(path, "r+b", buffering=0)
        except FileNotFoundError as e:
            raise DaemonNotRunningError(path, e) from None
        except Exception as e:
            if getattr(e, "winerror", None) == 2:  # ERROR_FILE_NOT_FOUND
                raise DaemonNotRunningError(path, e) from None
            raise TransportError(f"open pipe {_quote(path)}: {e}") from None

    def settimeout(self, timeout: Optional[float]) -> None:
        pass

    def send(self, data: bytes) -> None:
        if self._win32file is not None:
            self._win32file.WriteFile(self._handle, data)
        else:
            self._file.write(data)

    def recv(self) -> bytes:
        try:
            if self._win32file is not None:
                _, data = self._win32file.ReadFile(self._handle, _RECV_SIZE)
                return bytes(data)
            return self._file.read(_RECV_SIZE) or b""
        except Exception as e:
            if getattr(e, "winerror", None) == 109:  # ERROR_BROKEN_PIPE: the daemon closed it
                return b""
            raise

    def close(self) -> None:
        if self._win32file is not None:
            self._handle.Close()
        else:
            self._file.close()


class _Connection:
    """One connection and its receive buffer.

    Bytes that arrive after a response line stay in the buffer for the next
    call, so a response split across or sharing reads is framed correctly.
    """

    def __init__(self, transport):
        self.transport = transport
        self._buffer = bytearray()
        self._scanned = 0

    def read_line(self) -> bytes:
        """Return the next line without its newline, reading as needed."""
        while True:
            end = self._buffer.find(b"\n", self._scanned)
            if end >= 0:
                line = bytes(self._buffer[:end])
                del self._buffer[: end + 1]
                self._scanned = 0
                if line.endswith(b"\r"):
                    line = line[:-1]
                if len(line) > MAX_LINE_SIZE:
                    raise LineTooLongError(f"read response: line of {len(line)} bytes exceeds the limit of {MAX_LINE_SIZE}")
                return line

            self._scanned = len(self._buffer)
            # One byte more than the limit may be a carriage return before the newline.
            if len(self._buffer) > MAX_LINE_SIZE + 1:
                raise LineTooLongError(f"read response: line exceeds the limit of {MAX_LINE_SIZE} bytes")
            chunk = self.transport.recv()
            if not chunk:
                if self._buffer:
                    raise TransportError("read response: connection closed in the middle of a response line")
                raise _PeerClosedError("read response: connection closed by the daemon")
            self._buffer += chunk

    def close(self) -> None:
        self.transport.close()


# Client

_PairsArg = Union[Mapping[str, str], Iterable[Tuple[str, str]]]


class Client:
    """A connection to the keychain-auth daemon, dialed on the first call and reused.

    ``socket_path`` overrides the endpoint (see resolve_socket). ``timeout``
    bounds connecting and each call in seconds; ``None`` waits without limit.
    Use it as a context manager or call close().
    """

    def __init__(self, socket_path: Optional[str] = None, timeout: Optional[float] = 10.0):
        self._socket_path = socket_path
        self._timeout = timeout
        # _lock serializes calls and guards _conn and _closed.
        self._lock = threading.Lock()
        self._conn: Optional[_Connection] = None
        self._closed = False

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def connect(self) -> None:
        """Dial now instead of on the first call, raising DaemonNotRunningError early.

        An unregistered interpreter still connects; its first call raises
        UnregisteredBinaryError.
        """
        with self._lock:
            self._connection()

    def close(self) -> None:
        """Close the connection. Later calls raise ClientClosedError."""
        with self._lock:
            self._closed = True
            self._drop()

    def read(self, service: str, *targets: str) -> list:
        """Return a Result with a value for each target that exists, in request order."""
        return self._results(Request("read", service, targets=targets))

    def read_prefix(self, service: str, *prefixes: str) -> list:
        """Return every item of service whose target starts with a prefix, sorted, with values.

        Needs the read and search rights for service.
        """
        return self._results(Request("read", service, match="prefix", targets=prefixes))

    def write(self, service: str, pairs: _PairsArg, attributes: Optional[Mapping[str, str]] = None) -> None:
        """Store every (target, value) pair as one all-or-nothing batch.

        ``pairs`` is a mapping or an iterable of pairs; ``attributes`` are stored
        with every target.
        """
        items = list(pairs.items()) if isinstance(pairs, Mapping) else [tuple(p) for p in pairs]
        if any(len(p) != 2 for p in items):
            raise TypeError("write: pairs must be (target, value) pairs")
        targets = [p[0] for p in items]
        values = [p[1] for p in items]
        self._results(Request("write", service, targets=targets, values=values, attributes=attributes))

    def delete(self, service: str, *targets: str) -> None:
        """Delete the targets; a missing target is not an error."""
        self._results(Request("delete", service, targets=targets))

    def delete_prefix(self, service: str, *prefixes: str) -> None:
        """Delete every target of service that starts with a prefix. Needs the search right."""
        self._results(Request("delete", service, match="prefix", targets=prefixes))

    def search(
        self,
        service: str,
        prefixes: Optional[Sequence[str]] = None,
        attributes: Optional[Mapping[str, str]] = None,
    ) -> list:
        """Return the targets of service, sorted, with attributes and never values.

        ``prefixes`` keeps targets that start with any of them; ``attributes``
        keeps targets that carry every given key and value.
        """
        targets = list(prefixes) if prefixes else None
        return self._results(Request("search", service, targets=targets, attributes=attributes))

    def request(self, req: Request) -> Response:
        """Send req without validating it and return the success response.

        A response whose status is not success raises the ResponseError
        subclass for its reason code.
        """
        line = encode_request(req)
        if len(line) - 1 > MAX_LINE_SIZE:
            raise LineTooLongError(
                f"{req.action} {_quote(req.service)}: request line of {len(line) - 1} bytes exceeds the limit of {MAX_LINE_SIZE}"
            )

        resp = self._round_trip(line)
        if resp.status == "success":
            return resp
        reason = resp.reason or ""
        cls = _ERRORS_BY_REASON.get(reason, InternalError)
        raise cls(req.action, req.service, resp.status, reason)

    def _results(self, req: Request) -> list:
        _validate(req)
        return list(self.request(req).results)

    def _round_trip(self, line: bytes) -> Response:
        with self._lock:
            for attempt in (1, 2):
                reused = self._conn is not None
                conn = self._connection()
                try:
                    raw = self._exchange(conn, line)
                    resp = _decode_response(raw)
                except _PeerClosedError:
                    self._drop()
                    # A reused connection may have hit the daemon's idle
                    # timeout. Every action is idempotent, so one resend is safe.
                    if reused and attempt == 1:
                        continue
                    raise
                except BaseException:
                    self._drop()
                    raise
                if resp.reason == REASON_UNREGISTERED:
                    # The daemon closes the connection after this denial.
                    self._drop()
                return resp
        raise AssertionError("unreachable")

    def _exchange(self, conn: _Connection, line: bytes) -> bytes:
        """Send one request line and read one response line.

        A failed send is not fatal by itself: the daemon sends the unregistered
        denial unprompted and closes, so the send can fail with a broken pipe
        while the denial waits in the receive buffer.
        """
        conn.transport.settimeout(self._timeout)
        send_error: Optional[OSError] = None
        try:
            conn.transport.send(line)
        except (BrokenPipeError, ConnectionResetError) as e:
            send_error = e
        except socket.timeout:
            raise TransportError(f"send request: timed out after {self._timeout} s") from None

        try:
            return conn.read_line()
        except _PeerClosedError:
            raise
        except ConnectionResetError as e:
            raise _PeerClosedError(f"read response: {e}") from None
        except socket.timeout:
            raise TransportError(f"read response: timed out after {self._timeout} s") from None
        except OSError as e:
            if send_error is not None:
                raise TransportError(f"send request: {send_error}") from None
            raise TransportError(f"read response: {e}") from None

    def _connection(self) -> _Connection:
        """Return the open connection, dialing one if needed. The caller holds _lock."""
        if self._closed:
            raise ClientClosedError("client is closed")
        if self._conn is not None:
            return self._conn

        path = resolve_socket(self._socket_path)
        if _current_platform() == "windows":
            transport = _PipeTransport(path, self._timeout)
        else:
            transport = _UnixTransport(path, self._timeout)
        self._conn = _Connection(transport)
        return self._conn

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
