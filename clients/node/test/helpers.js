'use strict';
// Test helpers: a fake daemon on a Unix socket, the fixture parser, and the
// real daemon built from this repository.

const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const REPO = path.resolve(__dirname, '..', '..', '..');

/** Reads newline-terminated lines, newline included, from a socket. */
class LineReader {
  constructor(socket) {
    this.buffer = Buffer.alloc(0);
    this.ended = false;
    this.waiters = [];
    socket.on('data', (chunk) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.wake();
    });
    socket.on('end', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('error', () => {
      this.ended = true;
      this.wake();
    });
  }

  wake() {
    const waiters = this.waiters;
    this.waiters = [];
    waiters.forEach((w) => w());
  }

  /** Resolves with the next line, or null at end of stream. */
  async readLine() {
    for (;;) {
      const end = this.buffer.indexOf(0x0a);
      if (end >= 0) {
        const line = this.buffer.subarray(0, end + 1);
        this.buffer = this.buffer.subarray(end + 1);
        return line;
      }
      if (this.ended) {
        return null;
      }
      await new Promise((resolve) => this.waiters.push(resolve));
    }
  }
}

/** A Unix socket server that runs handler(socket, reader) for each connection. */
class FakeDaemon {
  constructor(handler) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kca-node-'));
    this.path = path.join(this.dir, 'agent.sock');
    this.connections = 0;
    this.sockets = new Set();
    this.server = net.createServer((socket) => {
      this.connections++;
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => {});
      Promise.resolve(handler(socket, new LineReader(socket))).catch(() => socket.destroy());
    });
  }

  listen() {
    return new Promise((resolve) => this.server.listen(this.path, resolve));
  }

  async close() {
    for (const socket of this.sockets) {
      socket.destroy();
    }
    await new Promise((resolve) => this.server.close(resolve));
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

async function startFakeDaemon(handler) {
  const daemon = new FakeDaemon(handler);
  await daemon.listen();
  return daemon;
}

/** Returns the index just past the JSON value that starts at pos. */
function scanJSON(text, pos) {
  let depth = 0;
  let inString = false;
  for (let i = pos; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') {
        i++;
      } else if (c === '"') {
        inString = false;
        if (depth === 0) {
          return i + 1;
        }
      }
    } else if (c === '"') {
      inString = true;
    } else if (c === '[' || c === '{') {
      depth++;
    } else if (c === ']' || c === '}') {
      depth--;
      if (depth === 0) {
        return i + 1;
      }
    }
  }
  throw new Error(`unterminated JSON value at offset ${pos} of ${text}`);
}

/**
 * Splits a fixture's call description into action, prefix flag and named
 * JSON arguments. The format is `<action>[ prefix] name=<JSON> ...`, for
 * example `read prefix service="aws" prefixes=["prod:"]`.
 */
function parseCall(call) {
  const head = /^(read|write|delete|search)( prefix)? /.exec(call);
  if (head === null) {
    throw new Error(`call ${call} does not start with an action`);
  }
  const args = {};
  let pos = head[0].length;
  while (pos < call.length) {
    const name = /^([a-z]+)=/.exec(call.slice(pos));
    if (name === null) {
      throw new Error(`call ${call}: expected name= at offset ${pos}`);
    }
    const start = pos + name[0].length;
    const end = scanJSON(call, start);
    args[name[1]] = JSON.parse(call.slice(start, end));
    pos = end;
    if (pos < call.length) {
      if (call[pos] !== ' ') {
        throw new Error(`call ${call}: expected a space at offset ${pos}`);
      }
      pos++;
    }
  }
  return { action: head[1], prefix: head[2] !== undefined, args };
}

/** Makes the client call that a fixture line describes. */
async function invoke(client, call) {
  const { action, prefix, args } = parseCall(call);
  const { service, ...rest } = args;
  const unknown = Object.keys(rest).filter((k) => !['targets', 'prefixes', 'pairs', 'attributes'].includes(k));
  if (unknown.length > 0) {
    throw new Error(`call ${call}: unknown arguments ${unknown.join(', ')}`);
  }

  if (action === 'read' && prefix) {
    await client.readPrefix(service, ...rest.prefixes);
  } else if (action === 'read') {
    await client.read(service, ...rest.targets);
  } else if (action === 'write') {
    await client.write(service, rest.pairs, { attributes: rest.attributes });
  } else if (action === 'delete' && prefix) {
    await client.deletePrefix(service, ...rest.prefixes);
  } else if (action === 'delete') {
    await client.delete(service, ...rest.targets);
  } else {
    await client.search(service, { prefixes: rest.prefixes, attributes: rest.attributes });
  }
}

function readFixture(file) {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line, i) => {
      const entry = JSON.parse(line);
      const fields = Object.keys(entry).sort().join(',');
      if (fields !== 'call,line') {
        throw new Error(`${file}:${i + 1}: fields ${fields}; want call and line`);
      }
      return entry;
    });
}

/** Builds the daemon into dir with go build and returns the binary's path. */
function buildDaemon(dir) {
  const bin = path.join(dir, 'keychain-auth');
  const goOnPath = spawnSync('go', ['version']).status === 0;
  const go = goOnPath ? 'go' : '/usr/local/go/bin/go';
  const done = spawnSync(go, ['build', '-o', bin, './cmd/keychain-auth'], { cwd: REPO, stdio: 'inherit' });
  if (done.status !== 0) {
    throw new Error(`go build ./cmd/keychain-auth failed: ${done.error || 'exit ' + done.status}`);
  }
  return bin;
}

/** One real daemon with its own config dir, socket and home, all under root. */
class Daemon {
  constructor(bin, root) {
    this.bin = bin;
    this.root = root;
    this.configDir = path.join(root, 'cfg');
    this.socket = path.join(root, 's', 'agent.sock');
    this.env = {
      HOME: path.join(root, 'home'),
      XDG_RUNTIME_DIR: path.join(root, 'xdg-run'),
      XDG_CONFIG_HOME: path.join(root, 'xdg-config'),
      XDG_DATA_HOME: path.join(root, 'xdg-data'),
      PATH: process.env.PATH || '',
    };
    this.stderr = '';
    this.process = null;
  }

  globalArgs() {
    return ['--config-dir', this.configDir, '--socket', this.socket];
  }

  /** Starts the daemon and resolves once it logs "listening on"; rejects if it exits first. */
  start() {
    return new Promise((resolve, reject) => {
      const child = spawn(this.bin, [...this.globalArgs(), 'start'], { env: this.env, stdio: ['ignore', 'ignore', 'pipe'] });
      this.process = child;
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (text) => {
        this.stderr += text;
        if (this.stderr.includes('listening on')) {
          resolve();
        }
      });
      child.on('exit', (code, signal) => {
        this.process = null;
        reject(new Error(`daemon exited (${code ?? signal}) during start-up:\n${this.stderr}`));
      });
    });
  }

  stop() {
    const child = this.process;
    if (child === null) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      // The daemon exits on SIGINT; SIGKILL is only a fallback so a hung
      // shutdown cannot leave it running after the tests.
      const fallback = setTimeout(() => child.kill('SIGKILL'), 20000);
      child.once('exit', () => {
        clearTimeout(fallback);
        resolve();
      });
      child.kill('SIGINT');
    });
  }

  /** Runs a keychain-auth command, throws unless it exits 0, and returns stdout. */
  cli(...args) {
    const done = spawnSync(this.bin, [...this.globalArgs(), ...args], { env: this.env, encoding: 'utf8' });
    if (done.status !== 0) {
      throw new Error(`keychain-auth ${args.join(' ')} exited ${done.status}\n${done.stdout}${done.stderr}`);
    }
    return done.stdout;
  }

  runExample() {
    return spawnSync(process.execPath, [path.join(__dirname, '..', 'example.js')], {
      env: { ...this.env, KEYCHAIN_AUTH_SOCKET: this.socket },
      encoding: 'utf8',
    });
  }
}

module.exports = { REPO, LineReader, startFakeDaemon, parseCall, invoke, readFixture, buildDaemon, Daemon };
