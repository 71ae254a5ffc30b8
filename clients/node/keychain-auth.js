'use strict';
// Reference client for the keychain-auth daemon, using only Node.js core modules.
//
// The daemon identifies a caller by the executable of the connected process.
// For a Node.js program that executable is the node binary (process.execPath),
// so registering it authorizes every script that binary runs. The client sends
// no token: the open connection is the credential, so it must never be
// inherited by a child process. Node.js offers no option for this because
// libuv's uv__socket creates every socket close-on-exec: with SOCK_CLOEXEC on
// Linux, and with FD_CLOEXEC set right after socket() on macOS. On Windows
// libuv opens the named pipe without an inheritable handle. The tests check
// the Linux case.
//
// Requests are encoded exactly as the Go client encodes them (see "Canonical
// encoding" in docs/PROTOCOL.md). Each non-success response rejects with the
// ResponseError subclass for its reason code, and a denial is never retried.

const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const util = require('node:util');

/** Maximum length in bytes of a request or response line, excluding the newline. */
const MAX_LINE_SIZE = 1 << 20;

const ENV_SOCKET = 'KEYCHAIN_AUTH_SOCKET';
const SYSTEM_SOCKET = '/run/keychain-auth/agent.sock';
const WINDOWS_PIPE = '\\\\.\\pipe\\keychain-auth';

const Reason = Object.freeze({
  UNREGISTERED: 'unregistered_binary_pending_approval',
  SERVICE_NOT_ALLOWED: 'service_not_allowed',
  ACTION_NOT_IN_POLICY: 'action_not_in_policy',
  MALFORMED_REQUEST: 'malformed_request',
  INTERNAL_ERROR: 'internal_error',
});

const ACTIONS = ['read', 'write', 'delete', 'search'];
const STATUSES = ['success', 'denied', 'error'];

// Errors

/** Base class of every error this module raises. */
class KeychainAuthError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Nothing listens on the endpoint: the socket or pipe is missing or refuses connections. */
class DaemonNotRunningError extends KeychainAuthError {
  constructor(socketPath, cause) {
    super(
      `connect ${JSON.stringify(socketPath)}: keychain-auth daemon is not running (${cause.code || cause.message}); ` +
        'start it with "keychain-auth start"',
      { cause },
    );
    this.socketPath = socketPath;
  }
}

/** A call was made after close(). */
class ClientClosedError extends KeychainAuthError {}

/** The connection failed, timed out or was closed during a call. */
class TransportError extends KeychainAuthError {}

/** The daemon sent a response this client cannot decode. */
class ProtocolError extends KeychainAuthError {}

/** A request or response line is longer than MAX_LINE_SIZE. */
class LineTooLongError extends ProtocolError {}

/**
 * A response whose status is not success, or a request rejected before
 * sending. status is 'denied' or 'error', and null when the client rejected
 * the request itself. reason is the reason code as sent; code is the same.
 */
class ResponseError extends KeychainAuthError {
  constructor(action, service, status, reason, detail = '') {
    const head = `${action} ${JSON.stringify(service)}: ${status}: ${reason}`;
    super(detail ? `${head}; ${detail}` : head);
    this.action = action;
    this.service = service;
    this.status = status;
    this.reason = reason;
    this.code = reason;
  }
}

/**
 * The node binary is neither registered nor signed and waits in the pending
 * queue. hash is the SHA-256 of process.execPath ("sha256:" and 64 hex
 * digits), or null when the file cannot be read; executable is its resolved
 * path. The daemon hashes the file the kernel reports for this process, so
 * these are what "keychain-auth list-pending" shows.
 */
class UnregisteredBinaryError extends ResponseError {
  constructor(action, service, status, reason, identity) {
    super(
      action,
      service,
      status,
      reason,
      `this program runs on the node binary ${JSON.stringify(identity.executable)}, which is waiting for approval: ` +
        `review it with "keychain-auth list-pending", then run "keychain-auth approve ${identity.hash || '<hash>'}". ` +
        'Approving the node binary authorizes every script it runs',
    );
    this.executable = identity.executable;
    this.hash = identity.hash;
  }
}

/** The node binary lacks the read or write right for the service. */
class ServiceNotAllowedError extends ResponseError {
  constructor(action, service, status, reason) {
    const flag = action === 'write' || action === 'delete' ? '--write' : '--read';
    super(action, service, status, reason, `grant it with "keychain-auth grant ${nodePath()} ${flag} ${service}"`);
  }
}

/** A search, prefix read or prefix delete without the search right. */
class ActionNotInPolicyError extends ResponseError {
  constructor(action, service, status, reason) {
    super(
      action,
      service,
      status,
      reason,
      'prefix reads, prefix deletes and search need the search right: ' +
        `grant it with "keychain-auth grant ${nodePath()} --search-service ${service}"`,
    );
  }
}

/** The daemon, or this client before sending (status null), found the request invalid. */
class MalformedRequestError extends ResponseError {}

/**
 * The daemon's secret store or audit log failed. The protocol's list of
 * reason codes is closed, so a reason this client does not know is reported
 * as this error with reason as the daemon sent it.
 */
class InternalError extends ResponseError {
  constructor(action, service, status, reason) {
    const detail =
      reason === Reason.INTERNAL_ERROR
        ? "the daemon's secret store or audit log failed, see the daemon's log"
        : `unknown reason code ${JSON.stringify(reason)}, handled as internal_error`;
    super(action, service, status, reason, detail);
  }
}

/** Returns the resolved path of the node binary, which is the path the daemon registers. */
function nodePath() {
  try {
    return fs.realpathSync(process.execPath);
  } catch {
    return process.execPath;
  }
}

/** Resolves to the resolved path of the node binary and its "sha256:" hash, or a null hash. */
async function nodeIdentity() {
  const executable = nodePath();
  try {
    const digest = crypto.createHash('sha256');
    for await (const chunk of fs.createReadStream(executable)) {
      digest.update(chunk);
    }
    return { executable, hash: 'sha256:' + digest.digest('hex') };
  } catch {
    return { executable, hash: null };
  }
}

async function responseError(action, service, status, reason) {
  switch (reason) {
    case Reason.UNREGISTERED:
      return new UnregisteredBinaryError(action, service, status, reason, await nodeIdentity());
    case Reason.SERVICE_NOT_ALLOWED:
      return new ServiceNotAllowedError(action, service, status, reason);
    case Reason.ACTION_NOT_IN_POLICY:
      return new ActionNotInPolicyError(action, service, status, reason);
    case Reason.MALFORMED_REQUEST:
      return new MalformedRequestError(action, service, status, reason);
    default:
      return new InternalError(action, service, status, reason);
  }
}

// Requests and responses

/** Compares strings by code point, which is the UTF-8 byte order the Go client sorts by. */
function compareCodePoints(a, b) {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * Encodes a request as one canonical line, newline included.
 *
 * Fields appear in the order type, action, service, match (only when
 * 'prefix'), targets (when given), values (write only) and attributes (when
 * non-empty, keys sorted by code point), which is byte for byte what the Go
 * client sends. Every string goes through JSON.stringify. The object is built
 * member by member because JSON.stringify puts integer-like keys such as "10"
 * first in numeric order, which would break the sorted attribute order. The
 * request is not validated.
 */
function encodeRequest({ action, service, match = 'exact', targets, values, attributes }) {
  const members = [
    `"type":"REQUEST"`,
    `"action":${JSON.stringify(action)}`,
    `"service":${JSON.stringify(service)}`,
  ];
  if (match === 'prefix') {
    members.push(`"match":"prefix"`);
  }
  if (targets !== undefined && targets !== null) {
    members.push(`"targets":${JSON.stringify(Array.from(targets))}`);
  }
  if (action === 'write') {
    members.push(`"values":${JSON.stringify(Array.from(values || []))}`);
  }
  const keys = attributes ? Object.keys(attributes).sort(compareCodePoints) : [];
  if (keys.length > 0) {
    const pairs = keys.map((key) => `${JSON.stringify(key)}:${JSON.stringify(attributes[key])}`);
    members.push(`"attributes":{${pairs.join(',')}}`);
  }
  return `{${members.join(',')}}\n`;
}

// A lone surrogate cannot be encoded as UTF-8, and JSON.stringify would send
// it as an escape that the daemon rejects.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Applies the daemon's request rules before sending, naming fields and never
 * values. Throws TypeError for a value of the wrong type and
 * MalformedRequestError (status null) for a protocol rule.
 */
function validateRequest(req) {
  const malformed = (detail) =>
    new MalformedRequestError(req.action, req.service, null, Reason.MALFORMED_REQUEST, `${detail} (rejected before sending)`);
  const checkString = (name, value) => {
    if (typeof value !== 'string') {
      throw new TypeError(`${req.action}: ${name} must be a string, not ${value === null ? 'null' : typeof value}`);
    }
    if (LONE_SURROGATE.test(value)) {
      throw malformed(`${name} contains a lone surrogate and is not valid Unicode`);
    }
  };

  checkString('action', req.action);
  checkString('service', req.service);
  if (!ACTIONS.includes(req.action)) {
    throw malformed(`action must be one of ${ACTIONS.join(', ')}`);
  }
  if (req.service === '') {
    throw malformed('service is empty');
  }
  const match = req.match ?? 'exact';
  if (match !== 'exact' && match !== 'prefix') {
    throw malformed('match must be "exact" or "prefix"');
  }
  if (match === 'prefix' && req.action === 'write') {
    throw malformed('match "prefix" is not allowed with action "write"');
  }

  const targets = req.targets ?? [];
  if (!Array.isArray(targets)) {
    throw new TypeError(`${req.action}: targets must be an array`);
  }
  if (req.action !== 'search' && targets.length === 0) {
    throw malformed('targets is missing or empty');
  }
  targets.forEach((target, i) => {
    checkString(`targets[${i}]`, target);
    if (target === '') {
      throw malformed(`targets[${i}] is empty`);
    }
  });

  if (req.action === 'write') {
    const values = req.values ?? [];
    if (values.length !== targets.length) {
      throw malformed(`${values.length} values for ${targets.length} targets`);
    }
    values.forEach((value, i) => checkString(`values[${i}]`, value));
  } else if (req.values !== undefined && req.values !== null) {
    throw malformed('values is only allowed with action "write"');
  }

  if (req.attributes !== undefined && req.attributes !== null) {
    if (typeof req.attributes !== 'object' || Array.isArray(req.attributes)) {
      throw new TypeError(`${req.action}: attributes must be an object of strings`);
    }
    for (const [key, value] of Object.entries(req.attributes)) {
      checkString('an attribute key', key);
      checkString(`attribute ${JSON.stringify(key)}`, value);
    }
  }
}

/** One item of a response. value is set only by reads; util.inspect leaves it out. */
class Result {
  constructor(target, value = null, attributes = {}) {
    this.target = target;
    this.value = value;
    this.attributes = attributes;
  }

  [util.inspect.custom](depth, options, inspect) {
    const redacted = { target: this.target, attributes: this.attributes };
    if (this.value !== null) {
      redacted.value = '<redacted>';
    }
    return `Result ${inspect(redacted, options)}`;
  }
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/** Decodes one response line, throwing ProtocolError for anything off the protocol. */
function decodeResponse(line) {
  let obj;
  try {
    obj = JSON.parse(utf8Decoder.decode(line));
  } catch (err) {
    throw new ProtocolError(`decode response: ${err.message}`);
  }

  const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(obj) || obj.type !== 'RESPONSE') {
    throw new ProtocolError('decode response: not an object with "type":"RESPONSE"');
  }
  if (!STATUSES.includes(obj.status)) {
    throw new ProtocolError(`decode response: invalid status ${JSON.stringify(obj.status)}`);
  }
  if (obj.reason !== undefined && typeof obj.reason !== 'string') {
    throw new ProtocolError('decode response: reason is not a string');
  }

  const rawResults = obj.results ?? [];
  if (!Array.isArray(rawResults)) {
    throw new ProtocolError('decode response: results is not an array');
  }
  const results = rawResults.map((item, i) => {
    if (!isObject(item) || typeof item.target !== 'string') {
      throw new ProtocolError(`decode response: results[${i}] has no string target`);
    }
    if (item.value !== undefined && typeof item.value !== 'string') {
      throw new ProtocolError(`decode response: results[${i}].value is not a string`);
    }
    const attributes = item.attributes ?? {};
    if (!isObject(attributes) || !Object.values(attributes).every((v) => typeof v === 'string')) {
      throw new ProtocolError(`decode response: results[${i}].attributes is not an object of strings`);
    }
    return new Result(item.target, item.value ?? null, attributes);
  });
  return { status: obj.status, reason: obj.reason ?? null, results };
}

// Endpoint

function currentPlatform() {
  return process.platform === 'win32' ? 'windows' : process.platform;
}

function isSocket(p) {
  try {
    return fs.statSync(p).isSocket();
  } catch {
    return false;
  }
}

/**
 * Returns the endpoint to dial, in the Go client's order: explicit; the
 * KEYCHAIN_AUTH_SOCKET environment variable; on Linux,
 * /run/keychain-auth/agent.sock when it is a socket; then the platform
 * default. platform is 'linux', 'darwin', 'windows' or another
 * process.platform value, which follows the Linux user rules.
 */
function resolveSocket({ explicit, platform = currentPlatform(), env = process.env, socketExists = isSocket } = {}) {
  if (explicit) {
    return explicit;
  }
  if (env[ENV_SOCKET]) {
    return env[ENV_SOCKET];
  }
  if (platform === 'linux' && socketExists(SYSTEM_SOCKET)) {
    return SYSTEM_SOCKET;
  }
  if (platform === 'windows') {
    return WINDOWS_PIPE;
  }

  const home = env.HOME || '';
  if (platform === 'darwin') {
    if (!home) {
      throw new KeychainAuthError(`resolve socket: HOME is not set; set HOME or ${ENV_SOCKET}`);
    }
    return path.posix.join(home, 'Library', 'Application Support', 'keychain-auth', 'agent.sock');
  }
  if (env.XDG_RUNTIME_DIR) {
    return path.posix.join(env.XDG_RUNTIME_DIR, 'keychain-auth', 'agent.sock');
  }
  if (!home) {
    throw new KeychainAuthError(`resolve socket: HOME and XDG_RUNTIME_DIR are not set; set one of them or ${ENV_SOCKET}`);
  }
  return path.posix.join(home, '.cache', 'keychain-auth', 'agent.sock');
}

// Connection

/** The daemon closed the connection before sending any byte of a response. */
class PeerClosedError extends TransportError {}

/**
 * One socket and its receive buffer. Bytes that arrive after a response line
 * stay in the buffer for the next call, so a response split across or
 * sharing reads is framed correctly.
 */
class Connection {
  constructor(socket) {
    this.socket = socket;
    this.buffer = Buffer.alloc(0);
    this.scanned = 0;
    this.ended = false;
    this.error = null;
    this.waiter = null;

    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('end', () => {
      this.ended = true;
      this.settle();
    });
    socket.on('error', (err) => {
      this.error = err;
      this.settle();
    });
    socket.on('close', () => {
      this.ended = true;
      this.settle();
    });
  }

  onData(chunk) {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    if (this.waiter === null && this.buffer.indexOf(0x0a, this.scanned) >= 0) {
      // Hold further bytes in the kernel until a call reads this line.
      this.socket.pause();
    }
    this.settle();
  }

  /** Resolves with the next line, without its newline. */
  readLine() {
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
      this.socket.resume();
      this.settle();
    });
  }

  // settle completes a pending readLine when the buffer contains a line or
  // the connection can deliver no more.
  settle() {
    if (this.waiter === null) {
      return;
    }
    const { resolve, reject } = this.waiter;
    const finish = (fn, value) => {
      this.waiter = null;
      fn(value);
    };

    const end = this.buffer.indexOf(0x0a, this.scanned);
    if (end >= 0) {
      let line = this.buffer.subarray(0, end);
      this.buffer = this.buffer.subarray(end + 1);
      this.scanned = 0;
      if (line.length > 0 && line[line.length - 1] === 0x0d) {
        line = line.subarray(0, line.length - 1);
      }
      if (line.length > MAX_LINE_SIZE) {
        return finish(reject, new LineTooLongError(`read response: line of ${line.length} bytes exceeds the limit of ${MAX_LINE_SIZE}`));
      }
      return finish(resolve, line);
    }

    this.scanned = this.buffer.length;
    // One byte more than the limit may be a carriage return before the newline.
    if (this.buffer.length > MAX_LINE_SIZE + 1) {
      return finish(reject, new LineTooLongError(`read response: line exceeds the limit of ${MAX_LINE_SIZE} bytes`));
    }
    if (this.error instanceof KeychainAuthError) {
      // Set by the call timeout through destroy(err).
      return finish(reject, this.error);
    }
    if (this.buffer.length > 0 && (this.ended || this.error)) {
      return finish(reject, new TransportError('read response: connection closed in the middle of a response line'));
    }
    if (this.error) {
      const code = this.error.code;
      if (code === 'ECONNRESET' || code === 'EPIPE') {
        return finish(reject, new PeerClosedError(`read response: ${this.error.message}`, { cause: this.error }));
      }
      return finish(reject, new TransportError(`read response: ${this.error.message}`, { cause: this.error }));
    }
    if (this.ended) {
      return finish(reject, new PeerClosedError('read response: connection closed by the daemon'));
    }
  }

  /**
   * Sends a line and reads one line. A failed write is not fatal by itself:
   * the daemon sends the unregistered denial unprompted and closes, so the
   * write can fail with a broken pipe while the denial waits in the buffer.
   */
  exchange(line) {
    if (!this.ended && !this.error) {
      // A write error also arrives as an 'error' event, which settle reports.
      this.socket.write(line, () => {});
    }
    return this.readLine();
  }

  ref() {
    this.socket.ref();
  }

  unref() {
    this.socket.unref();
  }

  destroy(err) {
    this.socket.destroy(err);
  }
}

function dial(socketPath, timeoutMs) {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection({ path: socketPath });
    let timer = null;
    const fail = (err) => {
      clearTimeout(timer);
      socket.destroy();
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') {
        reject(new DaemonNotRunningError(socketPath, err));
      } else {
        reject(new TransportError(`connect ${JSON.stringify(socketPath)}: ${err.message}`, { cause: err }));
      }
    };
    socket.once('error', fail);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeListener('error', fail);
      resolve(new Connection(socket));
    });
    if (timeoutMs) {
      timer = setTimeout(() => {
        const err = new Error(`timed out after ${timeoutMs} ms`);
        err.code = 'ETIMEDOUT';
        fail(err);
      }, timeoutMs);
    }
  });
}

// Client

/** Converts write's pairs argument to parallel target and value arrays. */
function splitPairs(pairs) {
  let entries;
  if (pairs instanceof Map) {
    entries = Array.from(pairs.entries());
  } else if (Array.isArray(pairs)) {
    entries = pairs;
  } else if (typeof pairs === 'object' && pairs !== null) {
    entries = Object.entries(pairs);
  } else {
    throw new TypeError('write: pairs must be an array of [target, value] pairs, a Map or an object');
  }
  if (!entries.every((p) => Array.isArray(p) && p.length === 2)) {
    throw new TypeError('write: pairs must be [target, value] pairs');
  }
  return { targets: entries.map((p) => p[0]), values: entries.map((p) => p[1]) };
}

/**
 * A connection to the keychain-auth daemon, dialed on the first call and
 * reused. Calls are queued and run one at a time in call order. While no call
 * runs, the socket does not keep the process alive; close() ends it.
 */
class Client {
  /**
   * @param {object} [options]
   * @param {string} [options.socket] endpoint to dial instead of the default (see resolveSocket)
   * @param {number} [options.timeout=10000] milliseconds for connecting and for each call; 0 waits without limit
   */
  constructor({ socket, timeout = 10000 } = {}) {
    this.socketPath = socket;
    this.timeout = timeout;
    this.connection = null;
    this.closed = false;
    this.queue = Promise.resolve();
  }

  /** Dials now instead of on the first call, rejecting early with DaemonNotRunningError. */
  connect() {
    return this.enqueue(async () => {
      const conn = await this.currentConnection();
      conn.unref();
    });
  }

  /** Closes the connection. Later calls reject with ClientClosedError. */
  close() {
    this.closed = true;
    this.drop();
  }

  /** Resolves with a Result with a value for each target that exists, in request order. */
  read(service, ...targets) {
    return this.results({ action: 'read', service, targets });
  }

  /** Resolves with every item whose target starts with a prefix, sorted, with values. Needs the search right. */
  readPrefix(service, ...prefixes) {
    return this.results({ action: 'read', service, match: 'prefix', targets: prefixes });
  }

  /**
   * Stores every pair as one all-or-nothing batch. pairs is an array of
   * [target, value], a Map or an object; attributes are stored with every target.
   */
  async write(service, pairs, { attributes } = {}) {
    const { targets, values } = splitPairs(pairs);
    await this.results({ action: 'write', service, targets, values, attributes });
  }

  /** Deletes the targets; a missing target is not an error. */
  async delete(service, ...targets) {
    await this.results({ action: 'delete', service, targets });
  }

  /** Deletes every target that starts with a prefix. Needs the search right. */
  async deletePrefix(service, ...prefixes) {
    await this.results({ action: 'delete', service, match: 'prefix', targets: prefixes });
  }

  /**
   * Resolves with the targets of service, sorted, with attributes and never
   * values, keeping those that start with any of prefixes and carry every
   * given attribute.
   */
  search(service, { prefixes, attributes } = {}) {
    const targets = prefixes && prefixes.length > 0 ? Array.from(prefixes) : undefined;
    return this.results({ action: 'search', service, targets, attributes });
  }

  /**
   * Sends a request as given, without local validation, and resolves with the
   * success response { status, reason, results }. Any other status rejects
   * with the ResponseError subclass for its reason code.
   */
  async request(req) {
    const line = Buffer.from(encodeRequest(req), 'utf8');
    if (line.length - 1 > MAX_LINE_SIZE) {
      throw new LineTooLongError(
        `${req.action} ${JSON.stringify(req.service)}: request line of ${line.length - 1} bytes exceeds the limit of ${MAX_LINE_SIZE}`,
      );
    }

    const resp = await this.enqueue(() => this.roundTrip(line));
    if (resp.status === 'success') {
      return resp;
    }
    throw await responseError(req.action, req.service, resp.status, resp.reason ?? '');
  }

  async results(req) {
    validateRequest(req);
    const resp = await this.request(req);
    return resp.results;
  }

  enqueue(fn) {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => {});
    return run;
  }

  async roundTrip(line) {
    for (let attempt = 1; ; attempt++) {
      const reused = this.connection !== null;
      const conn = await this.currentConnection();
      let raw;
      conn.ref();
      const timer = this.timeout
        ? setTimeout(() => conn.destroy(new TransportError(`call timed out after ${this.timeout} ms`)), this.timeout)
        : null;
      try {
        raw = await conn.exchange(line);
      } catch (err) {
        this.drop();
        // A reused connection may have hit the daemon's idle timeout. Every
        // action is idempotent, so one resend is safe.
        if (err instanceof PeerClosedError && reused && attempt === 1) {
          continue;
        }
        throw err;
      } finally {
        clearTimeout(timer);
        conn.unref();
      }

      let resp;
      try {
        resp = decodeResponse(raw);
      } catch (err) {
        this.drop();
        throw err;
      }
      if (resp.reason === Reason.UNREGISTERED) {
        // The daemon closes the connection after this denial.
        this.drop();
      }
      return resp;
    }
  }

  async currentConnection() {
    if (this.closed) {
      throw new ClientClosedError('client is closed');
    }
    if (this.connection === null) {
      this.connection = await dial(resolveSocket({ explicit: this.socketPath }), this.timeout);
    }
    return this.connection;
  }

  drop() {
    if (this.connection !== null) {
      this.connection.destroy();
      this.connection = null;
    }
  }
}

module.exports = {
  MAX_LINE_SIZE,
  ENV_SOCKET,
  SYSTEM_SOCKET,
  WINDOWS_PIPE,
  Reason,
  Client,
  Result,
  encodeRequest,
  resolveSocket,
  KeychainAuthError,
  DaemonNotRunningError,
  ClientClosedError,
  TransportError,
  ProtocolError,
  LineTooLongError,
  ResponseError,
  UnregisteredBinaryError,
  ServiceNotAllowedError,
  ActionNotInPolicyError,
  MalformedRequestError,
  InternalError,
};
