package nntp

import (
	"net"
	"syscall"
)

// quickAck asks the kernel to acknowledge what arrives at once rather
// than delaying the ACK. A server that writes without TCP_NODELAY (INN's
// nnrpd) holds each small answer until the previous one is acknowledged,
// so a delayed ACK (40 ms) would stall every answer the client waits for.
// Linux clears the flag as it goes, so it is set before each read.
func quickAck(c net.Conn) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) {
		syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
}
