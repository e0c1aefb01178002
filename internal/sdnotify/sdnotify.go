// Package sdnotify tells systemd about a service's state through the
// datagram socket named by $NOTIFY_SOCKET (sd_notify(3)), so that a unit
// with Type=notify counts the service as started only once it can serve.
// It is a few lines of the protocol, not a dependency on libsystemd.
package sdnotify

import (
	"errors"
	"net"
	"strings"
)

// Notifier sends state lines to one notify socket. The zero value (no
// socket: not started by systemd) sends nothing.
type Notifier struct {
	socket string
}

// New returns a Notifier for the socket path in $NOTIFY_SOCKET (pass its
// value; "" gives a Notifier that does nothing). A leading "@" names a
// socket in the abstract namespace, as systemd writes it.
func New(socket string) *Notifier {
	return &Notifier{socket: socket}
}

// Enabled reports whether a socket was given.
func (n *Notifier) Enabled() bool { return n != nil && n.socket != "" }

// Notify sends state, newline-separated "KEY=value" assignments such as
// "READY=1" or "STOPPING=1", in one datagram.
func (n *Notifier) Notify(state ...string) error {
	if !n.Enabled() {
		return nil
	}
	for _, s := range state {
		if strings.ContainsRune(s, '\n') {
			return errors.New("sdnotify: a state line cannot contain a newline")
		}
	}
	name := n.socket
	if strings.HasPrefix(name, "@") {
		name = "\x00" + name[1:]
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Write([]byte(strings.Join(state, "\n") + "\n"))
	return err
}

// Ready says the service is up, with an optional status line for
// systemctl status.
func (n *Notifier) Ready(status string) error {
	if status == "" {
		return n.Notify("READY=1")
	}
	return n.Notify("READY=1", "STATUS="+status)
}

// Stopping says the service is shutting down.
func (n *Notifier) Stopping() error { return n.Notify("STOPPING=1") }
