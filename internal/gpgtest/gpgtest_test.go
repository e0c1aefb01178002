package gpgtest

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func TestEncryptDecrypt(t *testing.T) {
	k := NewKey(t)
	rsa, err := k.GenerateKey("Rsa <rsa@example.test>", RSA)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		to        string
		how       Recipient
		anonymous bool
	}{
		{"visible", k.Email, Visible, false},
		{"throw-keyids", k.Email, ThrowKeyIDs, true},
		{"hidden", k.Email, Hidden, true},
		{"rsa-hidden", rsa, Hidden, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			msg := k.Encrypt(t, []byte("hello\n"), c.to, c.how)
			if !bytes.HasPrefix(msg, []byte("-----BEGIN PGP MESSAGE-----\n")) {
				t.Fatalf("not armored: %q", msg)
			}
			if got := strings.Contains(k.ListPackets(msg), "keyid 0000000000000000"); got != c.anonymous {
				t.Errorf("anonymous recipient %v, want %v", got, c.anonymous)
			}
			r := k.Decrypt(msg)
			if !r.OK("DECRYPTION_OKAY") || string(r.Stdout) != "hello\n" {
				t.Errorf("decrypt %q, %v\n%s", r.Stdout, r.Err, r.Status)
			}
		})
	}
	if r := k.Decrypt([]byte("not a message")); r.OK("DECRYPTION_OKAY") {
		t.Error("garbage decrypted")
	}
}

func TestExportAndClose(t *testing.T) {
	k, err := OpenKey()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := k.ExportPublic(true)
	if err != nil || !bytes.HasPrefix(pub, []byte("-----BEGIN PGP PUBLIC KEY BLOCK-----")) {
		t.Errorf("public %q, %v", pub, err)
	}
	sec, err := k.ExportSecret(false, k.Email)
	if err != nil || len(sec) == 0 || sec[0]&0x80 == 0 {
		t.Errorf("secret %d bytes, %v", len(sec), err)
	}
	other := New(t)
	if r := other.Must(t, sec, "--import"); !r.OK("IMPORT_OK") {
		t.Errorf("import: %s", r.Status)
	}
	if _, err := other.Output(nil, "--no-such-option"); err == nil {
		t.Error("bad option: no error")
	}
	k.Close()
	if _, err := os.Stat(k.Dir); !os.IsNotExist(err) {
		t.Errorf("home left behind: %v", err)
	}
}
