// Command keychain-auth is the keychain-auth daemon and its administration
// tool. See the README and "keychain-auth --help".
package main

import (
	"os"

	"github.com/keychain-auth/keychain-auth/internal/cli"
)

func main() {
	os.Exit(cli.Run(&cli.App{}, os.Args[1:]))
}
