'use strict';
// Example keychain-auth client, equal to the Go example in examples/go-client.
//
// It stores three secrets of project proj_123 in the AgentSecrets service with
// one batch write, then reads back every development secret with one prefix
// read and prints each target and value.
//
// The daemon identifies the node binary, not this script, so approve and grant the
// node binary (this authorizes every script it runs):
//
//   keychain-auth approve <hash printed by the first run>
//   keychain-auth grant "$(node -p 'require("fs").realpathSync(process.execPath)')" \
//     --read AgentSecrets --write AgentSecrets --search-service AgentSecrets

const keychainAuth = require('./keychain-auth.js');

const SERVICE = 'AgentSecrets';

async function main() {
  // With no socket option the client dials KEYCHAIN_AUTH_SOCKET when it is
  // set, else the platform default.
  const client = new keychainAuth.Client();
  try {
    await client.write(SERVICE, [
      ['proj_123:development:DATABASE_URL', 'postgres://localhost:5432/dev'],
      ['proj_123:development:API_KEY', 'dev-api-key-123'],
      ['proj_123:staging:DATABASE_URL', 'postgres://staging.internal:5432/app'],
    ]);
    const results = await client.readPrefix(SERVICE, 'proj_123:development:');
    for (const result of results) {
      console.log(`${result.target}=${result.value}`);
    }
  } finally {
    client.close();
  }
}

// explain adds the next step for the errors a user can fix.
function explain(err) {
  if (err instanceof keychainAuth.DaemonNotRunningError) {
    return `${err.message}\nthe daemon is not running; start it and run this program again`;
  }
  if (err instanceof keychainAuth.UnregisteredBinaryError) {
    return `${err.message}\nthis node binary needs approval before it can use keychain-auth`;
  }
  if (err instanceof keychainAuth.ServiceNotAllowedError || err instanceof keychainAuth.ActionNotInPolicyError) {
    return `${err.message}\nthis node binary is registered but lacks a right it needs`;
  }
  return err instanceof keychainAuth.KeychainAuthError ? err.message : String(err && err.stack);
}

main().catch((err) => {
  console.error(`example: ${explain(err)}`);
  process.exitCode = 1;
});
