package transport

import (
	"errors"
	"fmt"
	"os"
	"strconv"
)

// Environment variables of the systemd socket activation protocol, see
// sd_listen_fds(3).
const (
	EnvListenPID     = "LISTEN_PID"
	EnvListenFDs     = "LISTEN_FDS"
	EnvListenFDNames = "LISTEN_FDNAMES"
)

// listenFDsStart is the first descriptor passed by socket activation.
const listenFDsStart = 3

// errNotActivated reports that the environment carries no socket for this
// process.
var errNotActivated = errors.New("not socket-activated")

// activationFD returns the descriptor passed to process pid according to
// env, or errNotActivated when LISTEN_PID is unset or names another
// process (a parent that was activated and did not clean its environment).
// Exactly one descriptor is accepted, because the daemon has one endpoint.
func activationFD(env func(string) (string, bool), pid int) (int, error) {
	pidText, ok := env(EnvListenPID)
	if !ok || pidText == "" {
		return 0, errNotActivated
	}
	listenPID, err := strconv.Atoi(pidText)
	if err != nil {
		return 0, fmt.Errorf("socket activation: invalid %s %q", EnvListenPID, pidText)
	}
	if listenPID != pid {
		return 0, errNotActivated
	}

	countText, _ := env(EnvListenFDs)
	count, err := strconv.Atoi(countText)
	if err != nil {
		return 0, fmt.Errorf("socket activation: invalid %s %q", EnvListenFDs, countText)
	}
	if count != 1 {
		return 0, fmt.Errorf("socket activation: %s is %d; the daemon serves exactly one socket, so give the .socket unit one ListenStream", EnvListenFDs, count)
	}
	return listenFDsStart, nil
}

// clearActivationEnv removes the activation variables, so that programs
// the daemon starts (desktop notifiers) do not take the socket for theirs.
func clearActivationEnv() {
	for _, k := range []string{EnvListenPID, EnvListenFDs, EnvListenFDNames} {
		os.Unsetenv(k)
	}
}
