package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/altcrypt/altcrypt/pool/seal"
)

// readMessage reads the plaintext to send from standard input, refusing
// one over what an article can carry; cmd names the command in the error.
func readMessage(stdin io.Reader, cmd string, stderr io.Writer) ([]byte, error) {
	msg, err := io.ReadAll(io.LimitReader(stdin, seal.MaxPlaintext+1))
	if err != nil {
		return nil, err
	}
	if len(msg) > seal.MaxPlaintext {
		return nil, fmt.Errorf("%s: the message is over %d octets", cmd, seal.MaxPlaintext)
	}
	warnEmpty(msg, stderr)
	return msg, nil
}

// serverAddr is the --server flag's value, else the default server.
func serverAddr(flag string) string {
	if flag != "" {
		return flag
	}
	return defaultServer()
}

// fileFirstLine reads the first line of a file, without its line end: a
// secret given in a file (passphrase, password, hsub secret) is its first
// line, so that an editor's trailing newline is not part of it.
func fileFirstLine(name string) ([]byte, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	return []byte(strings.TrimRight(strings.SplitN(string(data), "\n", 2)[0], "\r")), nil
}

// writeText writes a message's text, ending it with a newline if it has
// none so that what follows starts on its own line.
func writeText(w io.Writer, text []byte) {
	w.Write(text)
	if len(text) > 0 && text[len(text)-1] != '\n' {
		fmt.Fprintln(w)
	}
}
