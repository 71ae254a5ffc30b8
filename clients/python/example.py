"""Example keychain-auth client, equal to the Go example in examples/go-client.

It stores three secrets of project proj_123 in the AgentSecrets service with
one batch write, then reads back every development secret with one prefix
read and prints each target and value.

The daemon identifies the Python interpreter, not this script, so approve and grant
the interpreter (this authorizes every script it runs):

    keychain-auth approve <hash printed by the first run>
    keychain-auth grant <interpreter path> --read AgentSecrets --write AgentSecrets --search-service AgentSecrets
"""

import sys

import keychain_auth

SERVICE = "AgentSecrets"


def main() -> int:
    # With no socket_path the client dials KEYCHAIN_AUTH_SOCKET when it is
    # set, else the platform default.
    try:
        with keychain_auth.Client() as client:
            client.write(
                SERVICE,
                [
                    ("proj_123:development:DATABASE_URL", "postgres://localhost:5432/dev"),
                    ("proj_123:development:API_KEY", "dev-api-key-123"),
                    ("proj_123:staging:DATABASE_URL", "postgres://staging.internal:5432/app"),
                ],
            )
            results = client.read_prefix(SERVICE, "proj_123:development:")
    except keychain_auth.DaemonNotRunningError as e:
        print(f"example: {e}\nthe daemon is not running; start it and run this program again", file=sys.stderr)
        return 1
    except keychain_auth.UnregisteredBinaryError as e:
        print(f"example: {e}\nthis interpreter needs approval before it can use keychain-auth", file=sys.stderr)
        return 1
    except (keychain_auth.ServiceNotAllowedError, keychain_auth.ActionNotInPolicyError) as e:
        print(f"example: {e}\nthis interpreter is registered but lacks a right it needs", file=sys.stderr)
        return 1
    except keychain_auth.KeychainAuthError as e:
        print(f"example: {e}", file=sys.stderr)
        return 1

    for result in results:
        print(f"{result.target}={result.value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
