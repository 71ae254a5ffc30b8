package vault

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/crypto/argon2"
	"golang.org/x/term"
)

// PassphraseFileEnv names the environment variable that holds the path of a
// file containing the vault passphrase.
const PassphraseFileEnv = "KEYCHAIN_AUTH_PASSPHRASE_FILE"

// Argon2id costs for new vaults: the second recommended option of RFC 9106,
// section 4 (3 passes over 64 MiB with 4 threads), as the x/crypto/argon2
// documentation restates it. Existing vaults keep their stored costs.
const (
	argonTime    = 3
	argonMemory  = 64 * 1024 // KiB
	argonThreads = 4
	argonSaltLen = 16
)

// Bounds on the Argon2id costs read from a vault, so a crafted file cannot
// make Open allocate without limit or run for hours.
const (
	maxArgonTime   = 64
	maxArgonMemory = 1 << 20 // KiB, so 1 GiB
)

// kdfParamsVersion is the first byte of the stored Argon2id parameters.
const kdfParamsVersion byte = 1

// ReadPassphraseFunc returns the passphrase. create is true when the vault
// is new, so an interactive reader can ask twice to catch a typing mistake.
// The caller clears the returned slice after use.
type ReadPassphraseFunc func(create bool) ([]byte, error)

// Passphrase returns a key source that derives the key from a passphrase with
// Argon2id. The salt and costs are chosen when the vault is created and
// stored in its metadata.
func Passphrase(read ReadPassphraseFunc) KeySource {
	return passphrase{read: read}
}

type passphrase struct {
	read ReadPassphraseFunc
}

func (p passphrase) Kind() string { return "passphrase" }

func (p passphrase) Protection() string {
	return "passphrase (Argon2id): protects the vault at rest while the daemon is not running; " +
		"while it runs, the key is in the daemon's memory"
}

func (p passphrase) Key(req KeyRequest) (key, params []byte, err error) {
	kdf := argonParams{time: argonTime, memory: argonMemory, threads: argonThreads}
	if req.Create {
		kdf.salt = make([]byte, argonSaltLen)
		rand.Read(kdf.salt)
	} else if kdf, err = decodeArgonParams(req.Params); err != nil {
		return nil, nil, err
	}

	pass, err := p.read(req.Create)
	if err != nil {
		return nil, nil, fmt.Errorf("read passphrase: %w", err)
	}
	defer clear(pass)
	if len(pass) == 0 {
		return nil, nil, errors.New("read passphrase: passphrase is empty")
	}

	key = argon2.IDKey(pass, kdf.salt, kdf.time, kdf.memory, kdf.threads, keySize)
	return key, kdf.encode(), nil
}

type argonParams struct {
	time    uint32
	memory  uint32 // KiB
	threads uint8
	salt    []byte
}

// encode writes the version byte, time, memory and threads, then the salt.
func (a argonParams) encode() []byte {
	out := []byte{kdfParamsVersion}
	out = binary.BigEndian.AppendUint32(out, a.time)
	out = binary.BigEndian.AppendUint32(out, a.memory)
	out = append(out, a.threads)
	return append(out, a.salt...)
}

func decodeArgonParams(b []byte) (argonParams, error) {
	const header = 1 + 4 + 4 + 1
	if len(b) < header+argonSaltLen || b[0] != kdfParamsVersion {
		return argonParams{}, errors.New("stored Argon2id parameters are invalid")
	}

	a := argonParams{
		time:    binary.BigEndian.Uint32(b[1:5]),
		memory:  binary.BigEndian.Uint32(b[5:9]),
		threads: b[9],
		salt:    b[header:],
	}
	if a.time == 0 || a.time > maxArgonTime || a.threads == 0 ||
		a.memory < 8*uint32(a.threads) || a.memory > maxArgonMemory {
		return argonParams{}, fmt.Errorf("stored Argon2id costs (time %d, memory %d KiB, threads %d) are out of range", a.time, a.memory, a.threads)
	}
	return a, nil
}

// PassphraseFromFile returns a reader of the passphrase stored in a file.
// One trailing line ending ("\n" or "\r\n") is removed, so a file written
// by echo works.
func PassphraseFromFile(path string) ReadPassphraseFunc {
	return func(bool) ([]byte, error) {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read passphrase file: %w", err)
		}
		pass := bytes.TrimSuffix(data, []byte("\n"))
		pass = bytes.TrimSuffix(pass, []byte("\r"))
		return pass, nil
	}
}

// PassphraseFromEnvFile returns a reader of the passphrase stored in the
// file whose path is in the environment variable name, which is usually
// PassphraseFileEnv.
func PassphraseFromEnvFile(name string) ReadPassphraseFunc {
	return func(create bool) ([]byte, error) {
		path := os.Getenv(name)
		if path == "" {
			return nil, fmt.Errorf("environment variable %q is not set; set it to the path of a file containing the vault passphrase", name)
		}
		return PassphraseFromFile(path)(create)
	}
}

// PassphraseFromTerminal returns a reader that prompts on w and reads the
// passphrase from the terminal tty without echo. For a new vault it prompts
// a second time and fails unless both entries match.
func PassphraseFromTerminal(tty *os.File, w io.Writer) ReadPassphraseFunc {
	return func(create bool) ([]byte, error) {
		fd := int(tty.Fd())
		if !term.IsTerminal(fd) {
			return nil, fmt.Errorf("%q is not a terminal; set %s to the path of a file containing the passphrase", tty.Name(), PassphraseFileEnv)
		}

		prompt := func(text string) ([]byte, error) {
			fmt.Fprint(w, text)
			pass, err := term.ReadPassword(fd)
			fmt.Fprintln(w)
			return pass, err
		}
		first, err := prompt("Vault passphrase: ")
		if err != nil || !create {
			return first, err
		}

		second, err := prompt("Repeat the vault passphrase: ")
		defer clear(second)
		if err != nil {
			clear(first)
			return nil, err
		}
		if subtle.ConstantTimeCompare(first, second) != 1 {
			clear(first)
			return nil, errors.New("the two passphrases do not match")
		}
		return first, nil
	}
}
