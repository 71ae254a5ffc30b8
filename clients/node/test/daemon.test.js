'use strict';
// Tests against the real daemon, built from this repository with `go build`.
//
// The daemon runs from a temp dir with its own config dir and socket, and
// every child process gets HOME and XDG_* pointing into that temp dir. The
// daemon identifies this test process by its node binary, so the tests approve
// and grant the resolved path of process.execPath in that temp config only.

const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { describe, it, before, after, afterEach } = require('node:test');

const ka = require('../keychain-auth.js');
const { buildDaemon, Daemon } = require('./helpers.js');

const NODE = fs.realpathSync(process.execPath);
const SERVICE = 'AgentSecrets';

let tmp;
let daemonBin;

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kca-node-'));
  daemonBin = buildDaemon(tmp);
});

after(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

function fileHash(file) {
  return 'sha256:' + crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

describe('real daemon', () => {
  let daemon;
  let client;
  // Captured before the node binary is approved.
  let unregisteredExample;
  let unregisteredError;
  let pending;

  before(async () => {
    daemon = new Daemon(daemonBin, path.join(tmp, 'main'));
    await daemon.start();

    unregisteredExample = daemon.runExample();
    const first = new ka.Client({ socket: daemon.socket });
    try {
      await first.read(SERVICE, 'k');
      throw new Error('read before approval succeeded');
    } catch (err) {
      if (!(err instanceof ka.UnregisteredBinaryError)) {
        throw err;
      }
      unregisteredError = err;
    } finally {
      first.close();
    }
    pending = JSON.parse(daemon.cli('list-pending', '--json'));

    daemon.cli('approve', unregisteredError.hash);
    daemon.cli(
      'grant', NODE,
      '--read', SERVICE, '--write', SERVICE, '--search-service', SERVICE,
      '--read', 'nosearch', '--write', 'nosearch',
    );
  });

  after(() => daemon.stop());

  // Each test gets its own client; the next test's client is made lazily.
  afterEach(() => {
    if (client) {
      client.close();
      client = null;
    }
  });
  const newClient = () => (client = new ka.Client({ socket: daemon.socket }));

  it('names approve and list-pending when unregistered', () => {
    const err = unregisteredError;
    assert.equal(err.hash, fileHash(NODE));
    assert.equal(err.executable, NODE);
    assert.equal(err.status, 'denied');
    assert.equal(err.reason, 'unregistered_binary_pending_approval');
    assert.ok(err.message.includes(`"keychain-auth approve ${err.hash}"`), err.message);
    assert.ok(err.message.includes('"keychain-auth list-pending"'), err.message);
  });

  it('queues the hash it names', () => {
    assert.ok(
      pending.some((p) => p.path === NODE && p.hash === unregisteredError.hash),
      JSON.stringify(pending),
    );
  });

  it('example prints the next step when unregistered', () => {
    const done = unregisteredExample;
    assert.equal(done.status, 1, done.stderr);
    assert.equal(done.stdout, '');
    assert.ok(done.stderr.includes(`keychain-auth approve ${fileHash(NODE)}`), done.stderr);
    assert.ok(done.stderr.includes('keychain-auth list-pending'), done.stderr);
  });

  it('example writes and reads by prefix', () => {
    const done = daemon.runExample();
    assert.equal(done.status, 0, done.stderr);
    assert.equal(
      done.stdout,
      'proj_123:development:API_KEY=dev-api-key-123\n' +
        'proj_123:development:DATABASE_URL=postgres://localhost:5432/dev\n',
    );
  });

  it('dials KEYCHAIN_AUTH_SOCKET by default', async () => {
    const saved = process.env.KEYCHAIN_AUTH_SOCKET;
    process.env.KEYCHAIN_AUTH_SOCKET = daemon.socket;
    try {
      client = new ka.Client();
      assert.deepEqual(await client.read(SERVICE, 'env:missing'), []);
    } finally {
      if (saved === undefined) {
        delete process.env.KEYCHAIN_AUTH_SOCKET;
      } else {
        process.env.KEYCHAIN_AUTH_SOCKET = saved;
      }
    }
  });

  it('writes a batch and reads it', async () => {
    const c = newClient();
    await c.write(SERVICE, new Map([['rw:b', '2'], ['rw:a', '1']]), { attributes: { team: 'core' } });
    const got = await c.read(SERVICE, 'rw:b', 'rw:missing', 'rw:a');
    assert.deepEqual(got, [new ka.Result('rw:b', '2', { team: 'core' }), new ka.Result('rw:a', '1', { team: 'core' })]);
  });

  it('round-trips unusual strings', async () => {
    const c = newClient();
    const pairs = [
      ['odd:unicode é ☃ 😀', 'naïve \u2028 \u2029 </script>'],
      ['odd:control', '\x00\x01\b\f\n\r\t\x1f\x7f"\\'],
      ['odd:empty', ''],
    ];
    await c.write(SERVICE, pairs);
    const got = await c.read(SERVICE, ...pairs.map((p) => p[0]));
    assert.deepEqual(got.map((r) => [r.target, r.value]), pairs);
  });

  it('reads by prefix', async () => {
    const c = newClient();
    await c.write(SERVICE, [['rp:x:1', 'a'], ['rp:y:1', 'b'], ['rp:x:2', 'c'], ['other', 'd']]);
    const got = await c.readPrefix(SERVICE, 'rp:y:', 'rp:x:');
    assert.deepEqual(got.map((r) => [r.target, r.value]), [['rp:x:1', 'a'], ['rp:x:2', 'c'], ['rp:y:1', 'b']]);
  });

  it('searches with an attribute filter', async () => {
    const c = newClient();
    await c.write(SERVICE, [['se:prod:2', 'v'], ['se:prod:1', 'v']], { attributes: { owner: 'ci', env: 'prod' } });
    await c.write(SERVICE, [['se:prod:3', 'v']], { attributes: { owner: 'dev', env: 'prod' } });
    await c.write(SERVICE, [['se:dev:1', 'v']], { attributes: { owner: 'ci', env: 'dev' } });

    const got = await c.search(SERVICE, { prefixes: ['se:prod:'], attributes: { owner: 'ci' } });
    assert.deepEqual(got.map((r) => r.target), ['se:prod:1', 'se:prod:2']);
    assert.deepEqual(got.map((r) => r.value), [null, null]);
    assert.deepEqual(got[0].attributes, { owner: 'ci', env: 'prod' });

    const every = await c.search(SERVICE, { prefixes: ['se:'] });
    assert.deepEqual(every.map((r) => r.target), ['se:dev:1', 'se:prod:1', 'se:prod:2', 'se:prod:3']);
  });

  it('deletes', async () => {
    const c = newClient();
    await c.write(SERVICE, [['del:a', '1'], ['del:b', '2']]);
    await c.delete(SERVICE, 'del:a', 'del:missing');
    assert.deepEqual((await c.read(SERVICE, 'del:a', 'del:b')).map((r) => r.target), ['del:b']);
  });

  it('deletes by prefix', async () => {
    const c = newClient();
    await c.write(SERVICE, [['dp:x:1', '1'], ['dp:x:2', '2'], ['dp:y:1', '3']]);
    await c.deletePrefix(SERVICE, 'dp:x:');
    assert.deepEqual((await c.readPrefix(SERVICE, 'dp:')).map((r) => r.target), ['dp:y:1']);
  });

  it('reports service_not_allowed', async () => {
    const c = newClient();
    for (const [name, call] of [
      ['read', () => c.read('forbidden', 'k')],
      ['write', () => c.write('forbidden', [['k', 'v']])],
      ['search', () => c.search('forbidden')],
    ]) {
      await assert.rejects(call(), (err) => {
        assert.ok(err instanceof ka.ServiceNotAllowedError, `${name}: ${err}`);
        assert.equal(err.status, 'denied');
        assert.ok(err.message.includes('"forbidden"'), err.message);
        return true;
      });
    }
  });

  it('reports action_not_in_policy', async () => {
    const c = newClient();
    await c.write('nosearch', [['k', 'v']]);
    for (const [name, call] of [
      ['read prefix', () => c.readPrefix('nosearch', 'k')],
      ['delete prefix', () => c.deletePrefix('nosearch', 'k')],
      ['search', () => c.search('nosearch')],
    ]) {
      await assert.rejects(call(), (err) => {
        assert.ok(err instanceof ka.ActionNotInPolicyError, `${name}: ${err}`);
        assert.equal(err.status, 'denied');
        return true;
      });
    }
    assert.deepEqual((await c.read('nosearch', 'k')).map((r) => r.value), ['v']);
  });

  it('keeps the connection after malformed_request', async () => {
    const c = newClient();
    await c.connect();
    const conn = c.connection;
    await assert.rejects(c.request({ action: 'read', service: SERVICE, targets: [] }), (err) => {
      assert.ok(err instanceof ka.MalformedRequestError, String(err));
      assert.equal(err.status, 'error');
      return true;
    });
    await assert.rejects(
      c.request({ action: 'write', service: SERVICE, match: 'prefix', targets: ['k'], values: ['v'] }),
      ka.MalformedRequestError,
    );
    assert.deepEqual(await c.read(SERVICE, 'mr:missing'), []);
    assert.equal(c.connection, conn);
  });

  it('opens the socket close-on-exec', async () => {
    // libuv creates sockets with SOCK_CLOEXEC on Linux; nothing in this
    // module sets the flag, so this checks libuv's behaviour.
    const c = newClient();
    await c.connect();
    const fd = c.connection.socket._handle.fd;
    assert.ok(Number.isInteger(fd) && fd > 2, `socket fd ${fd}`);
    const link = `socket:[${fs.fstatSync(fd).ino}]`;

    const listFds =
      "const fs = require('fs');" +
      "for (const n of fs.readdirSync('/proc/self/fd')) { try { console.log(fs.readlinkSync('/proc/self/fd/' + n)); } catch {} }";
    // libuv's spawn closes no other descriptors in the child, so only the
    // close-on-exec flag keeps the socket out of it.
    const child = spawnSync(process.execPath, ['-e', listFds], { encoding: 'utf8' });
    assert.equal(child.status, 0, child.stderr);
    assert.ok(!child.stdout.split('\n').includes(link), `child inherited ${link}:\n${child.stdout}`);

    // Control: the same socket passed on purpose does show up in the child.
    const passed = spawnSync(process.execPath, ['-e', listFds], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe', fd] });
    assert.equal(passed.status, 0, passed.stderr);
    assert.ok(passed.stdout.split('\n').includes(link), `control: child did not list ${link}:\n${passed.stdout}`);
  });
});

describe('audit failure', () => {
  it('reports internal_error', async () => {
    const daemon = new Daemon(daemonBin, path.join(tmp, 'audit'));
    const dataDir = path.join(daemon.configDir, 'data');
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    // Writes to /dev/full fail with ENOSPC, even for root.
    fs.symlinkSync('/dev/full', path.join(dataDir, 'audit.log'));
    await daemon.start();
    const client = new ka.Client({ socket: daemon.socket });
    try {
      daemon.cli('register', NODE);
      daemon.cli('grant', NODE, '--read', SERVICE);
      await assert.rejects(client.read(SERVICE, 'k'), (err) => {
        assert.ok(err instanceof ka.InternalError, String(err));
        assert.equal(err.status, 'error');
        assert.equal(err.reason, 'internal_error');
        return true;
      });
    } finally {
      client.close();
      await daemon.stop();
    }
  });
});

describe('daemon not running', () => {
  it('reports a missing socket', async () => {
    const socket = path.join(tmp, 'missing', 'agent.sock');
    const client = new ka.Client({ socket });
    await assert.rejects(client.read(SERVICE, 'k'), (err) => {
      assert.ok(err instanceof ka.DaemonNotRunningError, String(err));
      assert.ok(err.message.includes('"keychain-auth start"'), err.message);
      assert.ok(err.message.includes(socket), err.message);
      return true;
    });
    client.close();
  });

  it('reports a stale socket', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'stale-'));
    const socket = path.join(dir, 'agent.sock');
    // A process killed while listening leaves its socket file behind.
    const code = `require('net').createServer().listen(${JSON.stringify(socket)}, () => process.kill(process.pid, 'SIGKILL'))`;
    spawnSync(process.execPath, ['-e', code]);
    assert.ok(fs.statSync(socket).isSocket());

    const client = new ka.Client({ socket });
    await assert.rejects(client.connect(), (err) => err instanceof ka.DaemonNotRunningError && /keychain-auth start/.test(err.message));
    client.close();
  });
});
