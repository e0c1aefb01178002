//go:build !linux

package nntp

import "net"

// quickAck is Linux's TCP_QUICKACK; elsewhere the kernel's ACK policy stands.
func quickAck(net.Conn) {}
