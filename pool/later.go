package pool

import (
	"bytes"
	"context"
	"crypto/aes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/altcrypt/altcrypt/nntp"
	"github.com/altcrypt/altcrypt/pool/outbox"
	"github.com/altcrypt/altcrypt/pool/seal"
	"github.com/altcrypt/altcrypt/pool/trial"
)

// DefaultDelayMean is the mean of the random delay of a queued message.
const DefaultDelayMean = 30 * time.Minute

// Outbox opens the outbox of the pool directory.
func (c *Client) Outbox() (*outbox.Outbox, error) {
	return outbox.Open(filepath.Join(c.Home.Dir, "outbox"))
}

// Queue composes plaintext for contact to and keeps it in the outbox, to
// be posted to server by pool run or pool sync after a random delay:
// exponential with the given mean, so that when it leaves says little
// about when it was written. It is on disk when Queue returns.
func (c *Client) Queue(to string, plaintext []byte, opt ComposeOptions, server string, mean time.Duration) (*outbox.Message, error) {
	ct, err := c.Home.Contact(to)
	if err != nil {
		return nil, err
	}
	art, err := c.ComposeWith(to, plaintext, opt, nil)
	if err != nil {
		return nil, err
	}
	ob, err := c.Outbox()
	if err != nil {
		return nil, err
	}
	bucket, err := bucketOf(art)
	if err != nil {
		return nil, err
	}
	shape, err := ShapeOf(ct.Entity, bucket)
	if err != nil {
		return nil, err
	}
	m, err := ob.Add(art, server, time.Now().Add(outbox.Exp(mean, nil)))
	if err != nil {
		return nil, err
	}
	// The shape is only a guide for cover posts: a failure here must not
	// make the caller think the message was not queued.
	if err := ob.NoteShape(shape); err != nil {
		c.progressf("pool: %v", err)
	}
	return m, nil
}

// bucketOf reads the padded content size of an article pool made: its
// SEIPD v1 packet holds the content plus the cipher's prefix (block size
// + 2), the MDC packet (22 octets) and a version octet.
func bucketOf(art []byte) (int, error) {
	_, body, ok := bytes.Cut(art, []byte("\r\n\r\n"))
	if !ok {
		return 0, errors.New("pool: no article body")
	}
	msg, err := trial.Dearmor(body)
	if err != nil {
		return 0, err
	}
	for len(msg) >= 2 && msg[0]&0xc0 == 0xc0 {
		tag := msg[0] & 0x3f
		var n, hdr int
		switch l := int(msg[1]); {
		case l < 192:
			n, hdr = l, 2
		case l < 224 && len(msg) >= 3:
			n, hdr = (l-192)<<8+int(msg[2])+192, 3
		case l == 255 && len(msg) >= 6:
			n, hdr = int(binary.BigEndian.Uint32(msg[2:6])), 6
		default:
			return 0, errors.New("pool: unexpected packet framing")
		}
		if tag == 18 {
			return n - 1 - (aes.BlockSize + 2) - 22, nil
		}
		if hdr+n > len(msg) {
			break
		}
		msg = msg[hdr+n:]
	}
	return 0, errors.New("pool: no encrypted data packet in the article")
}

// ShapeOf says what a message of the given padded size to e looks like
// from outside.
func ShapeOf(e *openpgp.Entity, bucket int) (outbox.Shape, error) {
	pub, err := seal.EncryptionKey(e)
	if err != nil {
		return outbox.Shape{}, err
	}
	kind := fmt.Sprintf("v%d/%d", pub.Version, pub.PubKeyAlgo)
	if curve, err := pub.Curve(); err == nil {
		kind += "/" + string(curve)
	} else if bits, err := pub.BitLength(); err == nil {
		kind += fmt.Sprintf("/%d", bits)
	}
	return outbox.Shape{Key: kind, Cipher: int(seal.Cipher(e)), Bucket: bucket}, nil
}

// Outcome is what became of one attempt to post a queued message.
type Outcome int

// The outcomes of PostQueued.
const (
	Posted   Outcome = iota // the server took it (240)
	Replayed                // the server already had it (a crash hid an earlier 240): posted
	Refused                 // the server refused it for good; moved to the outbox's failed/
	Deferred                // not posted now (server down, busy...): tried again later
)

// PostQueued tries to post m once, with opt's login and hashcash, and
// records the outcome on disk before returning it: the attempt is written
// down first, and m leaves the queue only when the server has it.
// Deferred comes with the reason.
func (c *Client) PostQueued(ctx context.Context, ob *outbox.Outbox, m *outbox.Message, opt PostOptions) (Outcome, error) {
	if err := ob.Attempting(m); err != nil {
		return Deferred, err
	}
	// A post that has started is finished even when asked to stop: the
	// bytes on the wire would otherwise be a post of unknown fate.
	err := c.PostWith(context.WithoutCancel(ctx), m.Server, m.Article, opt)
	var ne *nntp.Error
	switch {
	case err == nil:
		return Posted, ob.Posted(m)
	case errors.As(err, &ne) && ne.Code == 441 && strings.HasPrefix(ne.Msg, "replay:"):
		return Replayed, ob.Posted(m)
	case errors.As(err, &ne) && ne.Code == 441 && !strings.HasPrefix(ne.Msg, "temporary:"):
		if ferr := ob.Failed(m, ne.Error()); ferr != nil {
			return Deferred, ferr
		}
		return Refused, err
	}
	// Back off: a minute, doubling, at most an hour.
	wait := time.Minute << min(m.Attempts-1, 6)
	wait = min(wait, time.Hour)
	if rerr := ob.Retry(m, time.Now().Add(wait/2+outbox.Exp(wait/2, nil))); rerr != nil {
		return Deferred, rerr
	}
	return Deferred, err
}

// FlushStats counts what Flush did.
type FlushStats struct {
	Posted, Replayed, Refused, Deferred int
	Waiting                             int // queued, not due yet
}

// Flush posts the queued messages that are due, each once, and reports
// every refusal or deferral to report (nil: none), logging in and minting
// stamps as opt says. The caller holds the outbox lock.
func (c *Client) Flush(ctx context.Context, ob *outbox.Outbox, opt PostOptions, report func(error)) (FlushStats, error) {
	var st FlushStats
	ms, err := ob.List()
	if err != nil {
		return st, err
	}
	now := time.Now()
	for _, m := range ms {
		if m.Due.After(now) {
			st.Waiting++
			continue
		}
		if ctx.Err() != nil {
			st.Waiting++
			continue
		}
		out, err := c.PostQueued(ctx, ob, m, opt)
		switch out {
		case Posted:
			st.Posted++
		case Replayed:
			st.Replayed++
		case Refused:
			st.Refused++
		case Deferred:
			st.Deferred++
		}
		if err != nil && report != nil {
			report(err)
		}
	}
	return st, nil
}

// throwawayConfig makes keys of the same kind as Shape.Key, for cover
// posts.
func throwawayConfig(kind string) (*packet.Config, error) {
	f := strings.Split(kind, "/")
	if len(f) < 2 {
		return nil, fmt.Errorf("pool: unknown key kind %q", kind)
	}
	v6 := f[0] == "v6"
	arg := ""
	if len(f) > 2 {
		arg = f[2]
	}
	var algo int
	fmt.Sscan(f[1], &algo)
	switch packet.PublicKeyAlgorithm(algo) {
	case packet.PubKeyAlgoECDH:
		switch packet.Curve(arg) {
		case packet.Curve25519, packet.Curve448:
			return &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, Curve: packet.Curve(arg), V6Keys: v6}, nil
		case "":
			return nil, fmt.Errorf("pool: key kind %q has no curve", kind)
		}
		return &packet.Config{Algorithm: packet.PubKeyAlgoECDSA, Curve: packet.Curve(arg), V6Keys: v6}, nil
	case packet.PubKeyAlgoX25519:
		return &packet.Config{Algorithm: packet.PubKeyAlgoEd25519, V6Keys: v6}, nil
	case packet.PubKeyAlgoX448:
		return &packet.Config{Algorithm: packet.PubKeyAlgoEd448, V6Keys: v6}, nil
	case packet.PubKeyAlgoRSA, packet.PubKeyAlgoRSAEncryptOnly:
		var bits int
		fmt.Sscan(arg, &bits)
		if bits < 1024 {
			return nil, fmt.Errorf("pool: key kind %q: bad RSA size", kind)
		}
		return &packet.Config{Algorithm: packet.PubKeyAlgoRSA, RSABits: bits, V6Keys: v6}, nil
	}
	return nil, fmt.Errorf("pool: cannot make a throwaway key like %q", kind)
}

// DefaultShape is the shape of cover posts before any real message was
// queued: a short message to a key made by pool keygen (which prefers
// AES-256, as gpg's keys do).
var DefaultShape = outbox.Shape{Key: "v4/18/Curve25519", Cipher: int(packet.CipherAES256), Bucket: 1024}

// Dummy makes a cover article of the given shape: random content
// encrypted to a fresh key that is thrown away at once, with the headers
// and Subject form of every pool article. Without the key of a real
// recipient nothing tells it from a real message of that shape; with one,
// it is a message for nobody.
func (c *Client) Dummy(shape outbox.Shape, rnd io.Reader) ([]byte, error) {
	cfg, err := throwawayConfig(shape.Key)
	if err != nil {
		return nil, err
	}
	cfg.Rand = rnd
	e, err := openpgp.NewEntity("", "", "", cfg)
	if err != nil {
		return nil, fmt.Errorf("pool: making a throwaway key: %w", err)
	}
	pub, err := seal.EncryptionKey(e)
	if err != nil {
		return nil, err
	}
	// The largest plaintext of the previous bucket is certain to land in
	// this one; the empty one lands in the first.
	n := 0
	for b := 1024; b < shape.Bucket; {
		n = b
		if b < 64<<10 {
			b *= 4
		} else {
			b += 64 << 10
		}
	}
	msg, err := seal.SealTo(pub, packet.CipherFunction(shape.Cipher), make([]byte, n), rnd)
	if err != nil {
		return nil, err
	}
	return c.article(msg, nil, rnd)
}
