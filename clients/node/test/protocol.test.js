'use strict';
// Tests of encoding, framing and error mapping against a fake daemon on a Unix
// socket. The fake daemon does not check peer credentials; daemon.test.js runs
// the real one.

const assert = require('node:assert/strict');
const path = require('node:path');
const util = require('node:util');
const { describe, it, afterEach } = require('node:test');

const ka = require('../keychain-auth.js');
const { REPO, startFakeDaemon, invoke, readFixture } = require('./helpers.js');

const GO_FIXTURE = path.join(REPO, 'client', 'testdata', 'requests.jsonl');
const EXTRA_FIXTURE = path.join(REPO, 'clients', 'testdata', 'requests_extra.jsonl');

const SUCCESS = '{"type":"RESPONSE","status":"success"}\n';
const DENIED_UNREGISTERED = '{"type":"RESPONSE","status":"denied","reason":"unregistered_binary_pending_approval"}\n';

// cleanups run after each test, last first.
let cleanups = [];
afterEach(async () => {
  for (const fn of cleanups.reverse()) {
    await fn();
  }
  cleanups = [];
});

/** Starts a fake daemon and a client for it, both closed after the test. */
async function serve(handler, clientOptions = {}) {
  const daemon = await startFakeDaemon(handler);
  cleanups.push(() => daemon.close());
  const client = new ka.Client({ socket: daemon.path, ...clientOptions });
  cleanups.push(() => client.close());
  return { daemon, client };
}

/** Starts a fake daemon that stores every request line and responds with success. */
async function serveRecording() {
  const lines = [];
  const served = await serve(async (socket, reader) => {
    for (let line; (line = await reader.readLine()) !== null; ) {
      lines.push(line);
      socket.write(SUCCESS);
    }
  });
  return { ...served, lines };
}

describe('request lines', () => {
  for (const [name, file] of [
    ['Go client fixture', GO_FIXTURE],
    ['extra fixture', EXTRA_FIXTURE],
  ]) {
    it(`match the ${name}`, async () => {
      const { client, lines } = await serveRecording();
      const entries = readFixture(file);
      assert.ok(entries.length > 0, `${file} is empty`);
      for (const entry of entries) {
        const before = lines.length;
        await invoke(client, entry.call);
        assert.equal(lines.length, before + 1, entry.call);
        assert.equal(lines[lines.length - 1].toString('utf8'), entry.line, entry.call);
        assert.deepEqual(lines[lines.length - 1], Buffer.from(entry.line, 'utf8'), entry.call);
      }
    });
  }

  it('equal JSON.stringify without attributes', () => {
    const req = { action: 'read', service: 'svc', match: 'prefix', targets: ['a\u2028\x7f', 'b'] };
    const want = JSON.stringify({ type: 'REQUEST', action: 'read', service: 'svc', match: 'prefix', targets: req.targets });
    assert.equal(ka.encodeRequest(req), want + '\n');
  });
});

describe('resolveSocket', () => {
  const noSocket = () => false;
  const systemSocketExists = (p) => p === ka.SYSTEM_SOCKET;
  const home = { HOME: '/home/u' };
  const cases = [
    ['explicit wins', { explicit: '/x.sock', platform: 'linux', env: { KEYCHAIN_AUTH_SOCKET: '/env.sock', ...home }, socketExists: systemSocketExists }, '/x.sock'],
    ['env over system socket', { platform: 'linux', env: { KEYCHAIN_AUTH_SOCKET: '/env.sock', ...home }, socketExists: systemSocketExists }, '/env.sock'],
    ['system socket when present', { platform: 'linux', env: { XDG_RUNTIME_DIR: '/run/user/1', ...home }, socketExists: systemSocketExists }, ka.SYSTEM_SOCKET],
    ['xdg runtime dir', { platform: 'linux', env: { XDG_RUNTIME_DIR: '/run/user/1/', ...home }, socketExists: noSocket }, '/run/user/1/keychain-auth/agent.sock'],
    ['empty xdg runtime dir', { platform: 'linux', env: { XDG_RUNTIME_DIR: '', ...home }, socketExists: noSocket }, '/home/u/.cache/keychain-auth/agent.sock'],
    ['empty env override', { platform: 'linux', env: { KEYCHAIN_AUTH_SOCKET: '', ...home }, socketExists: noSocket }, '/home/u/.cache/keychain-auth/agent.sock'],
    ['other unix ignores system socket', { platform: 'freebsd', env: home, socketExists: systemSocketExists }, '/home/u/.cache/keychain-auth/agent.sock'],
    ['darwin', { platform: 'darwin', env: home, socketExists: systemSocketExists }, '/home/u/Library/Application Support/keychain-auth/agent.sock'],
    ['windows', { platform: 'windows', env: {}, socketExists: noSocket }, '\\\\.\\pipe\\keychain-auth'],
  ];
  for (const [name, options, want] of cases) {
    it(name, () => {
      assert.equal(ka.resolveSocket(options), want);
    });
  }

  it('needs HOME', () => {
    for (const platform of ['linux', 'darwin']) {
      assert.throws(() => ka.resolveSocket({ platform, env: {}, socketExists: noSocket }), /HOME/);
    }
  });
});

describe('framing', () => {
  it('keeps bytes after a response for the next call', async () => {
    const { daemon, client } = await serve(async (socket, reader) => {
      await reader.readLine();
      socket.write(
        '{"type":"RESPONSE","status":"success","results":[{"target":"a","value":"1"}]}\n' +
          '{"type":"RESPONSE","status":"success","results":[{"target":"b","value":"2"}]}\n',
      );
      await reader.readLine();
      await reader.readLine();
    });
    assert.deepEqual((await client.read('svc', 'a')).map((r) => r.target), ['a']);
    assert.deepEqual((await client.read('svc', 'b')).map((r) => r.target), ['b']);
    assert.equal(daemon.connections, 1);
  });

  it('joins a response sent one byte at a time', async () => {
    const response = Buffer.from('{"type":"RESPONSE","status":"success","results":[{"target":"k","value":"v","attributes":{"a":"1"}}]}\n');
    const { client } = await serve(async (socket, reader) => {
      await reader.readLine();
      for (let i = 0; i < response.length; i++) {
        // Separate writes on a Unix socket may still be read together; the
        // client must frame either way.
        await new Promise((resolve) => socket.write(response.subarray(i, i + 1), resolve));
      }
      await reader.readLine();
    });
    assert.deepEqual(await client.read('svc', 'k'), [new ka.Result('k', 'v', { a: '1' })]);
  });

  /** Returns a success response line of size bytes and the length of its value. */
  function lineOfSize(size) {
    const head = '{"type":"RESPONSE","status":"success","results":[{"target":"k","value":"';
    const tail = '"}]}';
    const valueSize = size - head.length - tail.length;
    return { line: head + 'x'.repeat(valueSize) + tail, valueSize };
  }

  it('accepts a response at the line limit', async () => {
    const { line, valueSize } = lineOfSize(ka.MAX_LINE_SIZE);
    const { client } = await serve(async (socket, reader) => {
      await reader.readLine();
      socket.write(line + '\n');
      await reader.readLine();
    });
    const results = await client.read('svc', 'k');
    assert.equal(results[0].value.length, valueSize);
  });

  it('rejects a response over the line limit and redials', async () => {
    const { line } = lineOfSize(ka.MAX_LINE_SIZE + 1);
    const { daemon, client } = await serve(async (socket, reader) => {
      if ((await reader.readLine()) !== null) {
        socket.write(line + '\n');
      }
      await reader.readLine();
    });
    await assert.rejects(client.read('svc', 'k'), ka.LineTooLongError);
    await assert.rejects(client.read('svc', 'k'), ka.LineTooLongError);
    assert.equal(daemon.connections, 2);
  });

  it('rejects an endless response', async () => {
    const { client } = await serve(async (socket, reader) => {
      await reader.readLine();
      const chunk = Buffer.alloc(65536, 'x');
      while (!socket.destroyed) {
        await new Promise((resolve) => socket.write(chunk, resolve));
      }
    });
    await assert.rejects(client.read('svc', 'k'), ka.LineTooLongError);
  });

  it('does not send a request over the line limit', async () => {
    const { client, lines } = await serveRecording();
    await assert.rejects(client.write('svc', [['k', 'x'.repeat(ka.MAX_LINE_SIZE)]]), ka.LineTooLongError);
    assert.deepEqual(lines, []);
  });

  it('resends once after an idle close', async () => {
    const { daemon, client } = await serve(async (socket, reader) => {
      // Like the daemon's idle timeout: respond to one request, then close.
      await reader.readLine();
      socket.end(SUCCESS);
    });
    await client.read('svc', 'k');
    await client.read('svc', 'k');
    assert.equal(daemon.connections, 2);
  });

  it('does not resend on a fresh connection', async () => {
    const { daemon, client } = await serve(async (socket, reader) => {
      await reader.readLine();
      socket.end();
    });
    await assert.rejects(client.read('svc', 'k'), (err) => err instanceof ka.TransportError && /closed by the daemon/.test(err.message));
    assert.equal(daemon.connections, 1);
  });

  it('reports a partial response', async () => {
    const { client } = await serve(async (socket, reader) => {
      await reader.readLine();
      socket.end('{"type":"RESPONSE"');
    });
    await assert.rejects(client.read('svc', 'k'), /middle of a response line/);
  });

  it('reads the denial after the daemon closed', async () => {
    let closed;
    const closedPromise = new Promise((resolve) => (closed = resolve));
    const { client } = await serve(async (socket) => {
      // Like the daemon for an unregistered binary: deny unprompted and close.
      socket.end(DENIED_UNREGISTERED, closed);
    });
    await client.connect();
    await closedPromise;
    await assert.rejects(client.read('svc', 'k'), ka.UnregisteredBinaryError);
  });

  it('times out', async () => {
    const { client } = await serve(async (socket, reader) => {
      await reader.readLine();
      await reader.readLine();
    }, { timeout: 50 });
    await assert.rejects(client.read('svc', 'k'), (err) => err instanceof ka.TransportError && /timed out/.test(err.message));
  });

  it('serializes concurrent calls', async () => {
    const { client } = await serve(async (socket, reader) => {
      for (let line; (line = await reader.readLine()) !== null; ) {
        const target = JSON.parse(line).targets[0];
        socket.write(JSON.stringify({ type: 'RESPONSE', status: 'success', results: [{ target, value: target }] }) + '\n');
      }
    });
    const targets = Array.from({ length: 20 }, (_, i) => `k${i}`);
    const results = await Promise.all(targets.map((t) => client.read('svc', t)));
    assert.deepEqual(results.map((r) => r[0].target), targets);
  });

  it('rejects calls after close', async () => {
    const { client } = await serve(() => {});
    client.close();
    await assert.rejects(client.read('svc', 'k'), ka.ClientClosedError);
  });
});

describe('error mapping', () => {
  async function respond(response) {
    const { client } = await serve(async (socket, reader) => {
      while ((await reader.readLine()) !== null) {
        socket.write(response);
      }
    });
    return client;
  }

  const cases = [
    ['unregistered_binary_pending_approval', 'denied', ka.UnregisteredBinaryError],
    ['service_not_allowed', 'denied', ka.ServiceNotAllowedError],
    ['action_not_in_policy', 'denied', ka.ActionNotInPolicyError],
    ['malformed_request', 'error', ka.MalformedRequestError],
    ['internal_error', 'error', ka.InternalError],
    ['reason_from_the_future', 'error', ka.InternalError],
  ];
  for (const [reason, status, cls] of cases) {
    it(`maps ${reason}`, async () => {
      const client = await respond(JSON.stringify({ type: 'RESPONSE', status, reason }) + '\n');
      await assert.rejects(client.read('svc', 'k'), (err) => {
        assert.equal(err.constructor, cls);
        assert.equal(err.reason, reason);
        assert.equal(err.code, reason);
        assert.equal(err.status, status);
        assert.equal(err.service, 'svc');
        return true;
      });
    });
  }

  const invalid = [
    'not json\n',
    '[]\n',
    '{"type":"REQUEST","status":"success"}\n',
    '{"type":"RESPONSE","status":"maybe"}\n',
    '{"type":"RESPONSE","status":"success","results":[{"value":"v"}]}\n',
    '{"type":"RESPONSE","status":"success","results":[{"target":"k","attributes":{"a":1}}]}\n',
    Buffer.from('{"type":"RESPONSE","status":"success","results":[{"target":"\xff"}]}\n', 'latin1'),
  ];
  for (const line of invalid) {
    it(`rejects ${JSON.stringify(line.toString('latin1'))}`, async () => {
      const client = await respond(line);
      await assert.rejects(client.read('svc', 'k'), ka.ProtocolError);
    });
  }
});

describe('validation', () => {
  it('rejects invalid requests before sending', async () => {
    const { client, lines } = await serveRecording();
    const cases = [
      ['empty service', () => client.read('', 'k')],
      ['no targets', () => client.read('svc')],
      ['empty target', () => client.delete('svc', '')],
      ['no prefixes', () => client.readPrefix('svc')],
      ['lone surrogate value', () => client.write('svc', [['k', '\udc80']])],
      ['lone surrogate attribute', () => client.search('svc', { attributes: { a: '\ud800' } })],
    ];
    for (const [name, call] of cases) {
      await assert.rejects(call(), (err) => err instanceof ka.MalformedRequestError && err.status === null, name);
    }
    assert.deepEqual(lines, []);
  });

  it('rejects wrong types', async () => {
    const { client, lines } = await serveRecording();
    const cases = [
      ['array as target', () => client.read('svc', ['k'])],
      ['number value', () => client.write('svc', [['k', 1]])],
      ['number attribute', () => client.write('svc', { k: 'v' }, { attributes: { n: 1 } })],
    ];
    for (const [name, call] of cases) {
      await assert.rejects(call(), TypeError, name);
    }
    assert.deepEqual(lines, []);
  });

  it('leaves values out of errors', async () => {
    const { client } = await serveRecording();
    await assert.rejects(client.write('svc', [['k', 's3cret'], ['', 's3cret']]), (err) => !err.message.includes('s3cret'));
  });

  it('leaves values out of util.inspect', () => {
    const text = util.inspect(new ka.Result('k', 's3cret', { a: '1' }));
    assert.ok(!text.includes('s3cret'), text);
  });
});
