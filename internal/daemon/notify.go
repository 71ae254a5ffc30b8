package daemon

import (
	"log/slog"
	"os"
	"path/filepath"
	"runtime"

	"github.com/keychain-auth/keychain-auth/internal/notify"
	"github.com/keychain-auth/keychain-auth/internal/pending"
	"github.com/keychain-auth/keychain-auth/internal/server"
	"github.com/keychain-auth/keychain-auth/paths"
)

// EnvNotify turns desktop notifications off when set to "off" (or "0").
const EnvNotify = "KEYCHAIN_AUTH_NOTIFY"

// notifyingQueue shows a desktop notification when an unregistered binary
// is queued. The notifier limits this to one per hash per minute and three
// per minute overall.
type notifyingQueue struct {
	server.PendingQueue
	notifier *notify.Notifier
}

func (q notifyingQueue) Add(e pending.Entry) {
	q.PendingQueue.Add(e)
	// Only public facts: the path and a hash prefix. The command line may
	// hold secrets and is left out.
	q.notifier.Notify(e.Hash, pendingMessage(e))
}

func pendingMessage(e pending.Entry) notify.Message {
	hash := e.Hash
	if len(hash) > len("sha256:")+12 {
		hash = hash[:len("sha256:")+12] + "…"
	}
	return notify.Message{
		Title: "keychain-auth: a program waits for approval",
		Body:  e.Path + " (" + hash + ") was denied. Review it with: keychain-auth approve",
	}
}

// withNotifications wraps q with desktop notifications where they make
// sense: in user mode, unless turned off, and when a notifier is installed.
func withNotifications(q server.PendingQueue, mode paths.Mode, log *slog.Logger) server.PendingQueue {
	if mode == paths.ModeSystem {
		return q
	}
	if v := os.Getenv(EnvNotify); v == "off" || v == "0" {
		log.Info("desktop notifications turned off", "variable", EnvNotify)
		return q
	}
	if runtime.GOOS == "linux" && !hasSessionBus() {
		log.Info("desktop notifications unavailable: no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS unset and no $XDG_RUNTIME_DIR/bus)")
		return q
	}
	n, err := notify.New(notify.Options{GOOS: runtime.GOOS, Logger: log})
	if err != nil {
		log.Info("desktop notifications unavailable", "reason", err)
		return q
	}
	return notifyingQueue{PendingQueue: q, notifier: n}
}

// hasSessionBus reports whether notify-send can reach a session bus, which
// it finds through DBUS_SESSION_BUS_ADDRESS or at $XDG_RUNTIME_DIR/bus.
func hasSessionBus() bool {
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") != "" {
		return true
	}
	dir := os.Getenv("XDG_RUNTIME_DIR")
	if dir == "" {
		return false
	}
	_, err := os.Stat(filepath.Join(dir, "bus"))
	return err == nil
}
