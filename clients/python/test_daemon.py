"""Tests against the real daemon, built from this repository with `go build`.

The daemon runs from a temp dir with its own config dir and socket, and every
child process gets HOME and XDG_* pointing into that temp dir. The daemon
identifies this test process by its interpreter, so the tests approve and
grant the resolved path of sys.executable in that temp config only.
"""

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import unittest
from pathlib import Path
from unittest import mock

import keychain_auth as ka

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
INTERPRETER = os.path.realpath(sys.executable)
SERVICE = "AgentSecrets"

_build_dir = None
daemon_bin = None


def setUpModule():
    global _build_dir, daemon_bin
    _build_dir = tempfile.TemporaryDirectory(prefix="kca-py-")
    daemon_bin = os.path.join(_build_dir.name, "keychain-auth")
    go = shutil.which("go") or "/usr/local/go/bin/go"
    subprocess.run([go, "build", "-o", daemon_bin, "./cmd/keychain-auth"], cwd=REPO, check=True)


def tearDownModule():
    _build_dir.cleanup()


class Daemon:
    """One daemon with its own config dir, socket and home, all under root."""

    def __init__(self, root):
        self.root = Path(root)
        self.config_dir = self.root / "cfg"
        self.socket = str(self.root / "s" / "agent.sock")
        self.env = {
            "HOME": str(self.root / "home"),
            "XDG_RUNTIME_DIR": str(self.root / "xdg-run"),
            "XDG_CONFIG_HOME": str(self.root / "xdg-config"),
            "XDG_DATA_HOME": str(self.root / "xdg-data"),
            "PATH": os.environ.get("PATH", ""),
        }
        self.stderr_lines = []
        self.process = None

    def global_args(self):
        return [daemon_bin, "--config-dir", str(self.config_dir), "--socket", self.socket]

    def start(self):
        """Start the daemon and wait until it logs "listening on", or fail if it exits first."""
        self.process = subprocess.Popen(
            self.global_args() + ["start"], env=self.env, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        listening = threading.Event()

        def read_stderr():
            for raw in self.process.stderr:
                line = raw.decode("utf-8", "replace")
                self.stderr_lines.append(line)
                if "listening on" in line:
                    listening.set()
            listening.set()  # at end of stream too, so start never waits for a dead daemon

        self._reader = threading.Thread(target=read_stderr, daemon=True)
        self._reader.start()
        listening.wait()
        if self.process.poll() is not None and not any("listening on" in l for l in self.stderr_lines):
            raise RuntimeError("daemon exited during start-up:\n" + "".join(self.stderr_lines))

    def stop(self):
        if self.process is None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise
        finally:
            self._reader.join()
            self.process.stderr.close()
            self.process = None

    def cli(self, *args):
        """Run a keychain-auth command; fail unless it exits 0; return stdout."""
        done = subprocess.run(self.global_args() + list(args), env=self.env, capture_output=True, text=True)
        if done.returncode != 0:
            raise AssertionError(f"keychain-auth {' '.join(args)} exited {done.returncode}\n{done.stdout}{done.stderr}")
        return done.stdout

    def run_example(self):
        env = dict(self.env, KEYCHAIN_AUTH_SOCKET=self.socket)
        return subprocess.run(
            [sys.executable, str(HERE / "example.py")], env=env, capture_output=True, text=True, cwd=HERE
        )


def file_hash(path):
    with open(path, "rb") as f:
        return "sha256:" + hashlib.sha256(f.read()).hexdigest()


class DaemonTest(unittest.TestCase):
    """One daemon for the class; the interpreter is approved in setUpClass."""

    @classmethod
    def setUpClass(cls):
        # Class cleanups run even when setUpClass fails, unlike tearDownClass.
        tmp = tempfile.TemporaryDirectory(prefix="kca-py-")
        cls.addClassCleanup(tmp.cleanup)
        cls.daemon = Daemon(tmp.name)
        cls.daemon.start()
        cls.addClassCleanup(cls.daemon.stop)

        # Before approval: the example and an in-process call are both denied.
        cls.unregistered_example = cls.daemon.run_example()
        try:
            with ka.Client(cls.daemon.socket) as client:
                client.read(SERVICE, "k")
        except ka.UnregisteredBinaryError as e:
            cls.unregistered_error = e
        else:
            raise AssertionError("read before approval succeeded")
        cls.pending = json.loads(cls.daemon.cli("list-pending", "--json"))

        cls.daemon.cli("approve", cls.unregistered_error.hash)
        cls.daemon.cli(
            "grant", INTERPRETER,
            "--read", SERVICE, "--write", SERVICE, "--search-service", SERVICE,
            "--read", "nosearch", "--write", "nosearch",
        )

    def setUp(self):
        self.client = ka.Client(self.daemon.socket)
        self.addCleanup(self.client.close)

    def test_unregistered_message(self):
        e = self.unregistered_error
        self.assertEqual(e.hash, file_hash(INTERPRETER))
        self.assertEqual(e.executable, INTERPRETER)
        self.assertEqual(e.status, "denied")
        self.assertEqual(e.reason, "unregistered_binary_pending_approval")
        self.assertIn(f'"keychain-auth approve {e.hash}"', str(e))
        self.assertIn('"keychain-auth list-pending"', str(e))

    def test_unregistered_hash_in_pending_queue(self):
        self.assertIn((INTERPRETER, self.unregistered_error.hash), [(p["path"], p["hash"]) for p in self.pending])

    def test_example_unregistered(self):
        done = self.unregistered_example
        self.assertEqual(done.returncode, 1, done.stderr)
        self.assertEqual(done.stdout, "")
        self.assertIn(f"keychain-auth approve {file_hash(INTERPRETER)}", done.stderr)
        self.assertIn("keychain-auth list-pending", done.stderr)

    def test_example(self):
        done = self.daemon.run_example()
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(
            done.stdout,
            "proj_123:development:API_KEY=dev-api-key-123\n"
            "proj_123:development:DATABASE_URL=postgres://localhost:5432/dev\n",
        )

    def test_default_socket_from_environment(self):
        with mock.patch.dict(os.environ, {"KEYCHAIN_AUTH_SOCKET": self.daemon.socket}):
            with ka.Client() as client:
                self.assertEqual(client.read(SERVICE, "env:missing"), [])

    def test_write_and_read(self):
        self.client.write(SERVICE, {"rw:b": "2", "rw:a": "1"}, attributes={"team": "core"})
        got = self.client.read(SERVICE, "rw:b", "rw:missing", "rw:a")
        self.assertEqual(got, [ka.Result("rw:b", "2", {"team": "core"}), ka.Result("rw:a", "1", {"team": "core"})])

    def test_unusual_strings_round_trip(self):
        pairs = [
            ("odd:unicode é ☃ 😀", "naïve \u2028 \u2029 </script>"),
            ("odd:control", "\x00\x01\b\f\n\r\t\x1f\x7f\"\\"),
            ("odd:empty", ""),
        ]
        self.client.write(SERVICE, pairs)
        got = self.client.read(SERVICE, *(t for t, _ in pairs))
        self.assertEqual([(r.target, r.value) for r in got], pairs)

    def test_read_prefix(self):
        self.client.write(SERVICE, [("rp:x:1", "a"), ("rp:y:1", "b"), ("rp:x:2", "c"), ("other", "d")])
        got = self.client.read_prefix(SERVICE, "rp:y:", "rp:x:")
        self.assertEqual([(r.target, r.value) for r in got], [("rp:x:1", "a"), ("rp:x:2", "c"), ("rp:y:1", "b")])

    def test_search_with_attribute_filter(self):
        self.client.write(SERVICE, [("se:prod:2", "v"), ("se:prod:1", "v")], attributes={"owner": "ci", "env": "prod"})
        self.client.write(SERVICE, [("se:prod:3", "v")], attributes={"owner": "dev", "env": "prod"})
        self.client.write(SERVICE, [("se:dev:1", "v")], attributes={"owner": "ci", "env": "dev"})

        got = self.client.search(SERVICE, prefixes=["se:prod:"], attributes={"owner": "ci"})
        self.assertEqual([r.target for r in got], ["se:prod:1", "se:prod:2"])
        self.assertEqual([r.value for r in got], [None, None])
        self.assertEqual(got[0].attributes, {"owner": "ci", "env": "prod"})

        every = self.client.search(SERVICE, prefixes=["se:"])
        self.assertEqual([r.target for r in every], ["se:dev:1", "se:prod:1", "se:prod:2", "se:prod:3"])

    def test_delete(self):
        self.client.write(SERVICE, [("del:a", "1"), ("del:b", "2")])
        self.client.delete(SERVICE, "del:a", "del:missing")
        self.assertEqual([r.target for r in self.client.read(SERVICE, "del:a", "del:b")], ["del:b"])

    def test_delete_prefix(self):
        self.client.write(SERVICE, [("dp:x:1", "1"), ("dp:x:2", "2"), ("dp:y:1", "3")])
        self.client.delete_prefix(SERVICE, "dp:x:")
        self.assertEqual([r.target for r in self.client.read_prefix(SERVICE, "dp:")], ["dp:y:1"])

    def test_service_not_allowed(self):
        for name, call in [
            ("read", lambda: self.client.read("forbidden", "k")),
            ("write", lambda: self.client.write("forbidden", [("k", "v")])),
            ("search", lambda: self.client.search("forbidden")),
        ]:
            with self.subTest(name):
                with self.assertRaises(ka.ServiceNotAllowedError) as caught:
                    call()
                self.assertEqual(caught.exception.status, "denied")
                self.assertIn('"forbidden"', str(caught.exception))

    def test_action_not_in_policy(self):
        self.client.write("nosearch", [("k", "v")])
        for name, call in [
            ("read prefix", lambda: self.client.read_prefix("nosearch", "k")),
            ("delete prefix", lambda: self.client.delete_prefix("nosearch", "k")),
            ("search", lambda: self.client.search("nosearch")),
        ]:
            with self.subTest(name):
                with self.assertRaises(ka.ActionNotInPolicyError) as caught:
                    call()
                self.assertEqual(caught.exception.status, "denied")
        self.assertEqual([r.value for r in self.client.read("nosearch", "k")], ["v"])

    def test_malformed_request_keeps_connection(self):
        self.client.connect()
        conn = self.client._conn
        with self.assertRaises(ka.MalformedRequestError) as caught:
            self.client.request(ka.Request("read", SERVICE, targets=[]))
        self.assertEqual(caught.exception.status, "error")
        with self.assertRaises(ka.MalformedRequestError):
            self.client.request(ka.Request("write", SERVICE, match="prefix", targets=["k"], values=["v"]))
        self.assertEqual(self.client.read(SERVICE, "mr:missing"), [])
        self.assertIs(self.client._conn, conn)

    def test_socket_is_close_on_exec(self):
        import fcntl

        self.client.connect()
        fd = self.client._conn.transport.fileno()
        self.assertTrue(fcntl.fcntl(fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC)
        link = f"socket:[{os.fstat(fd).st_ino}]"

        # close_fds=False, so only the close-on-exec flag keeps the child from inheriting it.
        list_fds = "import os\nfor n in os.listdir('/proc/self/fd'):\n try: print(os.readlink('/proc/self/fd/' + n))\n except OSError: pass"
        child = subprocess.run([sys.executable, "-c", list_fds], close_fds=False, capture_output=True, text=True, check=True)
        self.assertNotIn(link, child.stdout.splitlines())

        # Control: an inheritable duplicate of the same socket does show up in the child.
        dup = os.dup(fd)
        self.addCleanup(os.close, dup)
        os.set_inheritable(dup, True)
        child = subprocess.run([sys.executable, "-c", list_fds], close_fds=False, capture_output=True, text=True, check=True)
        self.assertIn(link, child.stdout.splitlines())


class AuditFailureTest(unittest.TestCase):
    def test_internal_error(self):
        tmp = tempfile.TemporaryDirectory(prefix="kca-py-")
        self.addCleanup(tmp.cleanup)
        daemon = Daemon(tmp.name)
        data_dir = daemon.config_dir / "data"
        data_dir.mkdir(parents=True, mode=0o700)
        # Writes to /dev/full fail with ENOSPC, even for root.
        os.symlink("/dev/full", data_dir / "audit.log")
        daemon.start()
        self.addCleanup(daemon.stop)
        daemon.cli("register", INTERPRETER)
        daemon.cli("grant", INTERPRETER, "--read", SERVICE)

        with ka.Client(daemon.socket) as client:
            with self.assertRaises(ka.InternalError) as caught:
                client.read(SERVICE, "k")
        self.assertEqual(caught.exception.status, "error")
        self.assertEqual(caught.exception.reason, "internal_error")


class NotRunningTest(unittest.TestCase):
    def test_missing_socket(self):
        with tempfile.TemporaryDirectory(prefix="kca-py-") as tmp:
            path = os.path.join(tmp, "agent.sock")
            with ka.Client(path) as client:
                with self.assertRaises(ka.DaemonNotRunningError) as caught:
                    client.read(SERVICE, "k")
            self.assertIn('"keychain-auth start"', str(caught.exception))
            self.assertIn(path, str(caught.exception))

    def test_stale_socket(self):
        with tempfile.TemporaryDirectory(prefix="kca-py-") as tmp:
            path = os.path.join(tmp, "agent.sock")
            stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            stale.bind(path)
            stale.close()
            with ka.Client(path) as client:
                with self.assertRaisesRegex(ka.DaemonNotRunningError, "keychain-auth start"):
                    client.connect()


if __name__ == "__main__":
    unittest.main()
