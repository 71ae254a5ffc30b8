// Package client is the Go client for the keychain-auth daemon. A program
// uses it to read, write, delete and search secrets that the daemon keeps for
// it, after the user has registered the program's binary and granted it
// services.
//
// # Identity and what the package does not do
//
// The client sends no token or credential. The daemon identifies the calling
// binary from the kernel's peer credentials on the socket (or named pipe), so
// the open connection itself is the credential. The package never retries a
// denial: when the binary is unregistered, the call fails with
// [ErrUnregistered] and the user has to approve the binary with the
// keychain-auth CLI.
//
// # Close-on-exec
//
// Because the connection is the credential, a child process that inherited
// the socket descriptor could send requests that the daemon attributes to the
// parent. The client therefore never lets the descriptor be inherited:
//
//   - Linux and the BSDs create the socket with SOCK_STREAM|SOCK_CLOEXEC in one
//     socket(2) call, so no fork in another goroutine can copy it before the
//     flag is set.
//   - macOS has no SOCK_CLOEXEC. The client holds syscall.ForkLock for reading
//     while it creates the socket and sets FD_CLOEXEC, which is the lock the Go
//     runtime takes for writing around fork. A fork through os/exec or syscall
//     therefore cannot copy the descriptor before the flag is set. A fork made
//     outside the Go runtime (for example from C code) does not take that lock.
//   - Windows opens the pipe with go-winio's DialPipeContext, which calls
//     CreateFile with no security attributes, so the handle is not inheritable.
//     It also sets the anonymous impersonation level, so the daemon cannot act
//     with the client's token.
//
// # Connections and concurrency
//
// A [Client] holds at most one connection, dialed on the first call and kept
// for later calls. It reads responses through one buffered reader for the
// life of the connection, so bytes that arrive after a response line are kept
// for the next call. Response lines longer than [protocol.MaxLineSize] are an
// error, and request lines over that size are rejected before they are sent.
//
// A Client is safe for concurrent use. Calls are serialized: a call writes its
// request and reads its response before the next call starts, and waiting
// calls take their turn in the order they arrived. Every call takes a context.
// Its deadline becomes the connection deadline, and cancelling it aborts the
// call, including while the call waits for its turn.
//
// After a transport error, an oversized or undecodable response, or a call
// cancelled before its response was read, the client closes the connection and
// the next call dials again. A reused connection may have been closed by the
// daemon, for example after its idle timeout. When that happens before any
// response byte arrives, the call is sent once more on a new connection, which
// is safe because every action of the protocol is idempotent.
//
// # Secrets are strings
//
// Values are Go strings, not byte slices. The wire carries them as JSON
// strings, which hold Unicode text only, so a []byte API would suggest that
// arbitrary bytes round-trip when they cannot. Write rejects values that are
// not valid UTF-8 instead of letting them be altered; encode binary secrets
// (for example with base64) before writing them. A []byte would not make
// wiping possible either, because the JSON encoding and decoding make copies
// the caller cannot reach.
//
// # Endpoint
//
// The endpoint is, in order: [Options.Socket]; the KEYCHAIN_AUTH_SOCKET
// environment variable; on Linux, /run/keychain-auth/agent.sock when that file
// exists; then the platform default (see package paths).
package client
