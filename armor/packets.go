package armor

import (
	"encoding/hex"
	"strconv"
)

// Packet framing (R-P*), sequence (R-S*), fields (R-F*) and the screen
// (R-H1), over the decoded packet stream. Everything works on the in-memory
// stream; every length is checked against what is left before it is used.

// Packet tags we admit at top level.
const (
	tagPKESK  = 1
	tagSKESK  = 3
	tagMarker = 10
	tagSEIPD  = 18
	tagAEAD   = 20
)

// packet locates one packet in the stream.
type packet struct {
	tag       int
	legacy    bool
	start     int // header octet
	bodyStart int
	firstLen  int // length of the first (or only) chunk of the body
	total     int // total body length (sum of partial chunks)
	end       int // offset after the packet
	partial   bool
}

// walker state shared by Check and Canonicalize.
type walkResult struct {
	pkesks [maxTrackedESKs]packet // positions of the PKESKs, for Anonymize
	npk    int
}

// maxTrackedESKs bounds the PKESK positions kept for anonymisation; it is at
// least the largest MaxESKs anyone should configure.
const maxTrackedESKs = 64

func tagError(tag int, off int) *Error {
	switch tag {
	case 2, 4:
		return reject(CodeSignature, "packet at offset %d is a signature packet (tag %d) outside the encryption; the article must be ciphertext only", off, tag)
	case 5, 6, 7, 14:
		return reject(CodeKeyMaterial, "packet at offset %d is key material (tag %d); keys are not messages", off, tag)
	case 8:
		return reject(CodeCompressed, "packet at offset %d is a compressed packet (tag 8) outside the encryption; carriers cannot see inside it", off)
	case 9:
		return reject(CodeLegacySED, "packet at offset %d is the obsolete Symmetrically Encrypted Data packet (tag 9) without integrity protection (RFC 9580 §5.7)", off)
	case 11:
		return reject(CodeLiteral, "packet at offset %d is a literal data packet (tag 11): plaintext outside the encryption", off)
	case 13, 17:
		return reject(CodeUserID, "packet at offset %d is a user ID or user attribute packet (tag %d)", off, tag)
	case 21:
		return reject(CodePadding, "packet at offset %d is a padding packet (tag 21) outside the encryption; its bytes are readable by anyone", off)
	}
	return reject(CodeUnknownPacket, "packet at offset %d has tag %d, which is not allowed at the top level of an encrypted message", off, tag)
}

// nextPacket parses the header at off and locates the body (R-P1..R-P3).
func nextPacket(b []byte, off int, p Policy) (packet, *Error) {
	pk := packet{start: off}
	ctb := b[off]
	if ctb&0x80 == 0 {
		return pk, reject(CodePacketHeader, "octet 0x%02x at offset %d is not an OpenPGP packet header (bit 7 clear)", ctb, off)
	}
	if ctb&0x40 == 0 {
		pk.legacy = true
		pk.tag = int(ctb>>2) & 0x0f
	} else {
		pk.tag = int(ctb & 0x3f)
	}
	switch pk.tag {
	case tagPKESK, tagSKESK, tagMarker, tagSEIPD:
	case tagAEAD:
		if !p.AllowLibrePGPAEAD {
			return pk, reject(CodeAEADDisallowed, "the LibrePGP AEAD packet (tag 20) is not accepted by this server; encrypt with a v1 or v2 SEIPD")
		}
	default:
		return pk, tagError(pk.tag, off)
	}
	rest := len(b) - off - 1
	pos := off + 1
	if pk.legacy {
		var n int
		switch ctb & 3 {
		case 0:
			n = 1
		case 1:
			n = 2
		case 2:
			n = 4
		default:
			return pk, reject(CodeIndeterminate, "packet at offset %d uses the legacy indeterminate length (RFC 9580 §4.2.2 says MUST NOT generate)", off)
		}
		if rest < n {
			return pk, truncated(off)
		}
		var l uint64
		for i := 0; i < n; i++ {
			l = l<<8 | uint64(b[pos+i])
		}
		pos += n
		if l > uint64(len(b)-pos) {
			return pk, truncated(off)
		}
		pk.bodyStart, pk.firstLen, pk.total = pos, int(l), int(l)
		pk.end = pos + int(l)
		return pk, nil
	}
	l, hl, partial, ok := newLength(b[pos:])
	if !ok {
		return pk, truncated(off)
	}
	pos += hl
	if !partial {
		if l > uint64(len(b)-pos) {
			return pk, truncated(off)
		}
		pk.bodyStart, pk.firstLen, pk.total = pos, int(l), int(l)
		pk.end = pos + int(l)
		return pk, nil
	}
	if pk.tag != tagSEIPD && pk.tag != tagAEAD {
		return pk, reject(CodePartialLength, "packet at offset %d (tag %d) uses a partial body length, which only data packets may use (RFC 9580 §4.2.1.4)", off, pk.tag)
	}
	if l < 512 {
		return pk, reject(CodePartialFirst, "the first partial body chunk of the packet at offset %d is %d octets; RFC 9580 §4.2.1.4 requires at least 512", off, l)
	}
	pk.partial = true
	pk.bodyStart, pk.firstLen = pos, int(l)
	total := uint64(0)
	for {
		if l > uint64(len(b)-pos) {
			return pk, truncated(off)
		}
		pos += int(l)
		total += l
		if !partial {
			break
		}
		if pos >= len(b) {
			return pk, reject(CodeTruncated, "the packet at offset %d ends inside a partial body chunk; the stream is truncated", off)
		}
		l, hl, partial, ok = newLength(b[pos:])
		if !ok {
			return pk, truncated(off)
		}
		pos += hl
	}
	pk.total = int(total)
	pk.end = pos
	return pk, nil
}

func truncated(off int) *Error {
	return reject(CodeTruncated, "the packet at offset %d is longer than the data that follows; the stream is truncated", off)
}

// newLength decodes an OpenPGP-format body length (RFC 9580 §4.2.1).
func newLength(b []byte) (l uint64, hdr int, partial, ok bool) {
	if len(b) < 1 {
		return 0, 0, false, false
	}
	o := b[0]
	switch {
	case o < 192:
		return uint64(o), 1, false, true
	case o < 224:
		if len(b) < 2 {
			return 0, 0, false, false
		}
		return (uint64(o)-192)<<8 + uint64(b[1]) + 192, 2, false, true
	case o == 255:
		if len(b) < 5 {
			return 0, 0, false, false
		}
		return uint64(b[1])<<24 | uint64(b[2])<<16 | uint64(b[3])<<8 | uint64(b[4]), 5, false, true
	default:
		return 1 << (o & 0x1f), 1, true, true
	}
}

// walk checks the packet stream b and fills v. With deferVisible the
// visible-recipient policy is left to the caller (Canonicalize checks it
// after anonymising). wr, when not nil, receives the PKESK positions.
func walk(b []byte, p Policy, v *Verdict, wr *walkResult, deferVisible bool) *Error {
	maxESKs := p.maxESKs()
	off := 0
	var eskRandom []byte // the uniform parts of the PKESKs, for screenESKs
	var data packet
	haveData := false
	for off < len(b) {
		if haveData {
			return reject(CodeTrailingData, "%d octets follow the encrypted data packet; the encrypted data must be the last packet", len(b)-off)
		}
		pk, err := nextPacket(b, off, p)
		if err != nil {
			return err
		}
		body := b[pk.bodyStart:pk.end] // contiguous unless partial
		switch pk.tag {
		case tagMarker:
			if string(body) != "PGP" {
				return reject(CodeBadMarker, "the marker packet at offset %d does not contain exactly \"PGP\"", off)
			}
			v.Markers++
			if v.Markers > 1 {
				return reject(CodeTooManyMarkers, "more than one marker packet")
			}
		case tagPKESK, tagSKESK:
			if len(v.ESKs) >= maxESKs {
				return reject(CodeTooManyESKs, "more than %d encrypted session key packets", maxESKs)
			}
			var e ESK
			var err *Error
			if pk.tag == tagPKESK {
				e, err = parsePKESK(body, off, &eskRandom)
				if err == nil && wr != nil {
					if wr.npk == len(wr.pkesks) {
						return reject(CodeTooManyESKs, "more than %d public-key session key packets", len(wr.pkesks))
					}
					wr.pkesks[wr.npk] = pk
					wr.npk++
				}
			} else {
				e, err = parseSKESK(body, off)
			}
			if err != nil {
				return err
			}
			if v.ESKs == nil {
				v.ESKs = make([]ESK, 0, 4)
			}
			v.ESKs = append(v.ESKs, e)
		case tagSEIPD, tagAEAD:
			if err := checkData(b, pk, v); err != nil {
				return err
			}
			data = pk
			haveData = true
		}
		off = pk.end
	}
	if !haveData {
		if len(b) == 0 {
			return reject(CodeNoDataPacket, "the armor contains no packets")
		}
		return reject(CodeNoDataPacket, "there is no encrypted data packet (SEIPD or AEAD) after the session keys")
	}
	if len(v.ESKs) == 0 {
		return reject(CodeNoESK, "the encrypted data has no session key packet (PKESK or SKESK); nobody could decrypt it")
	}
	if why := screenESKs(eskRandom); why != "" {
		return reject(CodeFake, "%s", why)
	}
	for i := range v.ESKs {
		if err := aligned(v.Container, &v.ESKs[i], i); err != nil {
			return err
		}
		if !deferVisible && !p.AllowVisibleRecipients && v.ESKs[i].Kind == "pkesk" && !v.ESKs[i].Anonymous {
			return visibleError(i)
		}
	}
	// R-H1 on the data packet, after its fixed header.
	fixed := 1
	switch v.Container {
	case "seipd-v2":
		fixed = 36
	case "aead-librepgp":
		fixed = 4 + ivLen(v.AEAD)
	}
	if why := screen(b[data.bodyStart+fixed:], true); why != "" {
		return reject(CodeFake, "%s", why)
	}
	return nil
}

// screenESKs runs the frequency test over the uniform parts of all the
// public-key session key packets together, so that text cut into pieces
// too short for the test on their own is still caught.
func screenESKs(all []byte) string {
	if len(all) >= nibbleMinBytes && nibbleChi(all) > nibbleLimit {
		return "the session key packets' values are far from uniform; they carry no session key"
	}
	return ""
}

func visibleError(i int) *Error {
	return reject(CodeVisible, "session key packet %d names its recipient; this server accepts only hidden recipients (gpg --throw-keyids or -R)", i+1)
}

// aligned enforces R-S4 (RFC 9580 §10.3.2.1, Table 26, and LibrePGP).
func aligned(container string, e *ESK, i int) *Error {
	ok := false
	switch container {
	case "seipd-v1":
		ok = (e.Kind == "pkesk" && e.Version == 3) || (e.Kind == "skesk" && e.Version == 4)
	case "seipd-v2":
		ok = e.Version == 6
	case "aead-librepgp":
		ok = (e.Kind == "pkesk" && e.Version == 3) || (e.Kind == "skesk" && (e.Version == 4 || e.Version == 5))
	}
	if !ok {
		return reject(CodeVersionMismatch, "a v%d %s (packet %d) cannot go with a %s packet (RFC 9580 §10.3.2.1)", e.Version, e.Kind, i+1, container)
	}
	return nil
}

// Cipher and AEAD identifiers (RFC 9580 §9.3, §9.6).
func knownCipher(c byte) bool   { return (c >= 1 && c <= 4) || (c >= 7 && c <= 13) }
func block16Cipher(c byte) bool { return c >= 7 && c <= 13 }

func ivLen(aead int) int {
	switch aead {
	case 1:
		return 16 // EAX
	case 2:
		return 15 // OCB
	case 3:
		return 12 // GCM
	}
	return 0
}

// aeadLengthOK reports whether n octets of chunked AEAD ciphertext can come
// from P ≥ 1 octets of plaintext: n = P + 16·(⌈P/C⌉ + 1), C = 2^(c+6).
func aeadLengthOK(n int, chunkByte int) bool {
	c := int64(1) << (chunkByte + 6)
	m := int64(n) - 16
	if m < 17 {
		return false
	}
	k := (m + c + 15) / (c + 16)
	pl := m - 16*k
	return pl >= 1 && (pl+c-1)/c == k
}

// checkData checks a SEIPD (R-F3, R-F4) or tag-20 packet (R-F5) header.
func checkData(b []byte, pk packet, v *Verdict) *Error {
	first := b[pk.bodyStart : pk.bodyStart+pk.firstLen]
	v.PartialLengths = pk.partial
	if pk.tag == tagSEIPD {
		if len(first) < 1 {
			return reject(CodeBadSEIPD, "the SEIPD packet is empty")
		}
		switch first[0] {
		case 1:
			v.Container = "seipd-v1"
			if pk.total-1 < 32 {
				return reject(CodeBadSEIPD, "the v1 SEIPD packet is %d octets; too short for a prefix and an MDC", pk.total)
			}
			return nil
		case 2:
			v.Container = "seipd-v2"
			if len(first) < 36 {
				return reject(CodeBadSEIPD, "the v2 SEIPD packet is too short for its header")
			}
			if !block16Cipher(first[1]) {
				return reject(CodeBadSEIPD, "the v2 SEIPD packet names cipher %d; only 16-octet block ciphers (7-13) are allowed", first[1])
			}
			if first[2] < 1 || first[2] > 3 {
				return reject(CodeBadSEIPD, "the v2 SEIPD packet names unknown AEAD mode %d", first[2])
			}
			if first[3] > 16 {
				return reject(CodeBadSEIPD, "the v2 SEIPD chunk size octet is %d; at most 16 is allowed", first[3])
			}
			v.Cipher, v.AEAD, v.ChunkSizeByte = int(first[1]), int(first[2]), int(first[3])
			if !aeadLengthOK(pk.total-36, int(first[3])) {
				return reject(CodeBadSEIPD, "the v2 SEIPD ciphertext length %d cannot be chunks of %d octets with their tags", pk.total-36, 1<<(first[3]+6))
			}
			return nil
		}
		return reject(CodeBadSEIPD, "the SEIPD packet has unknown version %d", first[0])
	}
	v.Container = "aead-librepgp"
	if len(first) < 4 || first[0] != 1 {
		if len(first) < 1 {
			return reject(CodeBadAEADPacket, "the AEAD packet is empty")
		}
		if first[0] != 1 {
			return reject(CodeBadAEADPacket, "the AEAD packet (tag 20) has unknown version %d", first[0])
		}
		return reject(CodeBadAEADPacket, "the AEAD packet is too short for its header")
	}
	if !block16Cipher(first[1]) {
		return reject(CodeBadAEADPacket, "the AEAD packet names cipher %d; only 16-octet block ciphers (7-13) are allowed", first[1])
	}
	if first[2] != 1 && first[2] != 2 {
		return reject(CodeBadAEADPacket, "the AEAD packet names AEAD mode %d; LibrePGP allows 1 (EAX) and 2 (OCB)", first[2])
	}
	if first[3] > 16 {
		return reject(CodeBadAEADPacket, "the AEAD packet chunk size octet is %d; at most 16 is allowed", first[3])
	}
	fixed := 4 + ivLen(int(first[2]))
	if len(first) < fixed {
		return reject(CodeBadAEADPacket, "the AEAD packet is too short for its IV")
	}
	v.Cipher, v.AEAD, v.ChunkSizeByte = int(first[1]), int(first[2]), int(first[3])
	if !aeadLengthOK(pk.total-fixed, int(first[3])) {
		return reject(CodeBadAEADPacket, "the AEAD ciphertext length %d cannot be chunks of %d octets with their tags", pk.total-fixed, 1<<(first[3]+6))
	}
	return nil
}

// mpi consumes one multiprecision integer (RFC 9580 §3.2) from f.
func mpi(f []byte) (rest []byte, ok bool) {
	if len(f) < 2 {
		return nil, false
	}
	bits := int(f[0])<<8 | int(f[1])
	n := (bits + 7) / 8
	if bits == 0 || len(f)-2 < n {
		return nil, false
	}
	if r := bits % 8; r != 0 && f[2] >= 1<<r {
		return nil, false // more bits than declared
	}
	return f[2+n:], true
}

// sized consumes a one-octet size (not 0, not 255) and exactly that many
// octets, which must end the packet.
func sized(f []byte) (payload []byte, ok bool) {
	if len(f) < 1 || f[0] == 0 || f[0] == 0xff || int(f[0]) != len(f)-1 {
		return nil, false
	}
	return f[1:], true
}

func wrappedKeyLen(n int) bool { return n == 24 || n == 32 || n == 40 }

// parsePKESK checks a PKESK body (R-F1) and appends the parts of it that
// must be uniform to random.
func parsePKESK(body []byte, off int, uniform *[]byte) (ESK, *Error) {
	e := ESK{Kind: "pkesk"}
	bad := func(why string) (ESK, *Error) {
		return e, reject(CodeBadPKESK, "the public-key session key packet at offset %d is malformed: %s", off, why)
	}
	if len(body) < 1 {
		return bad("it is empty")
	}
	e.Version = int(body[0])
	var f []byte
	switch e.Version {
	case 3:
		if len(body) < 10 {
			return bad("too short")
		}
		id := body[1:9]
		e.Anonymous = allZero(id)
		if !e.Anonymous {
			e.KeyID = hex.EncodeToString(id)
		}
		e.Algorithm = int(body[9])
		f = body[10:]
	case 6:
		if len(body) < 3 {
			return bad("too short")
		}
		n := int(body[1])
		switch {
		case n == 0:
			e.Anonymous = true
		case n == 21 || n == 33:
			if len(body) < 2+n+1 {
				return bad("too short for its fingerprint")
			}
			kv := body[2]
			if (kv == 4 && n != 21) || (kv == 6 && n != 33) || (kv != 4 && kv != 6) {
				return bad("key version and fingerprint length disagree")
			}
			fp := body[3 : 2+n]
			e.Fingerprint = hex.EncodeToString(fp)
			if kv == 4 {
				e.KeyID = e.Fingerprint[24:]
			} else {
				e.KeyID = e.Fingerprint[:16]
			}
		default:
			return bad("the fingerprint length octet must be 0, 21 or 33")
		}
		e.Algorithm = int(body[2+n])
		f = body[3+n:]
	default:
		return bad("unknown version")
	}
	ok := false
	fields := f
	// random collects the parts that must be uniform bytes: values below
	// a modulus without their top octet, curve points without the octets
	// the field size biases, wrapped keys.
	var random [][]byte
	switch e.Algorithm {
	case 1, 2: // RSA
		var r []byte
		r, ok = mpi(f)
		ok = ok && len(r) == 0
		if ok {
			if bits := mpiBits(f); bits < minModulusBits {
				return bad("its RSA value has " + strconv.Itoa(bits) + " bits; an RSA key of 1024 bits or more gives at least " + strconv.Itoa(minModulusBits))
			}
			random = append(random, f[3:len(f)-len(r)])
		}
	case 16: // ElGamal, v3 only
		if e.Version == 3 {
			var r, r2 []byte
			if r, ok = mpi(f); ok {
				r2, ok = mpi(r)
				ok = ok && len(r2) == 0
			}
			if ok {
				if mpiBits(f) < minModulusBits || mpiBits(r) < minModulusBits {
					return bad("an ElGamal value has fewer than " + strconv.Itoa(minModulusBits) + " bits; a key of 1024 bits or more gives more")
				}
				random = append(random, f[3:len(f)-len(r)], r[3:])
			}
		}
	case 18: // ECDH
		var r, w []byte
		if r, ok = mpi(f); ok {
			w, ok = sized(r)
		}
		if ok {
			point := f[2 : len(f)-len(r)]
			part, good := ecdhPoint(mpiBits(f), point)
			if !good {
				return bad("its ECDH ephemeral point has no curve's size and prefix")
			}
			random = append(random, part...)
			random = append(random, w)
		}
	case 25, 26: // X25519, X448
		n := 32
		if e.Algorithm == 26 {
			n = 56
		}
		if len(f) > n {
			var w []byte
			if w, ok = sized(f[n:]); ok && e.Version == 3 {
				ok = len(w) > 1 && w[0] >= 7 && w[0] <= 9
				w = w[1:]
			}
			ok = ok && wrappedKeyLen(len(w))
			// The top bit of an X25519 key is clear: leave its last octet.
			random = append(random, f[:n-1], w)
		}
	default:
		return bad("public-key algorithm " + strconv.Itoa(e.Algorithm) + " cannot encrypt a session key here")
	}
	if !ok {
		return bad("the fields of algorithm " + strconv.Itoa(e.Algorithm) + " do not fill the packet exactly")
	}
	if why := screen(fields, false); why != "" {
		return e, reject(CodeFake, "the public-key session key packet at offset %d is not random: %s", off, why)
	}
	for _, r := range random {
		if compressedStart(r) {
			return e, reject(CodeFake, "the public-key session key packet at offset %d carries a compressed stream, not a session key", off)
		}
	}
	for _, r := range random {
		*uniform = append(*uniform, r...)
	}
	return e, nil
}

// mpiBits is the bit count of the MPI at the start of f (checked by mpi).
func mpiBits(f []byte) int { return int(f[0])<<8 | int(f[1]) }

// ecdhPoint checks an ECDH ephemeral point of bits bits (RFC 9580 §11.5,
// RFC 6637): 0x40 and a native Curve25519 (263 bits) or X448 (455) key, or
// 0x04 and the two coordinates of a NIST or Brainpool curve (515, 771,
// 1027, 1059 bits). It returns the parts that are uniform: the native key
// without the octet whose top bit is clear, each coordinate without its
// first octet (the field's size biases it).
func ecdhPoint(bits int, p []byte) ([][]byte, bool) {
	switch bits {
	case 263, 455:
		if p[0] != 0x40 {
			return nil, false
		}
		if bits == 263 {
			return [][]byte{p[1 : len(p)-1]}, true
		}
		return [][]byte{p[1:]}, true
	case 515, 771, 1027, 1059:
		if p[0] != 0x04 {
			return nil, false
		}
		l := (len(p) - 1) / 2
		return [][]byte{p[2 : 1+l], p[2+l:]}, true
	}
	return nil, false
}

// s2kLen returns the length of the S2K specifier at the start of f
// (RFC 9580 §3.7.1), or -1 when it is unknown or malformed.
func s2kLen(f []byte) int {
	if len(f) < 1 {
		return -1
	}
	var n int
	switch f[0] {
	case 0:
		n = 2
	case 1:
		n = 10
	case 3:
		n = 11
	case 4:
		n = 20
	default:
		return -1
	}
	if len(f) < n {
		return -1
	}
	if f[0] != 4 && !knownHash(f[1]) {
		return -1
	}
	if f[0] == 4 && (f[17] == 0 || f[18] == 0 || f[19] > 31) {
		return -1 // t, p ≥ 1; memory exponent < 32
	}
	return n
}

func knownHash(h byte) bool {
	switch h {
	case 1, 2, 3, 8, 9, 10, 11, 12, 14:
		return true
	}
	return false
}

// parseSKESK checks a SKESK body (R-F2).
func parseSKESK(body []byte, off int) (ESK, *Error) {
	e := ESK{Kind: "skesk"}
	bad := func(why string) (ESK, *Error) {
		return e, reject(CodeBadSKESK, "the symmetric-key session key packet at offset %d is malformed: %s", off, why)
	}
	if len(body) < 1 {
		return bad("it is empty")
	}
	e.Version = int(body[0])
	switch e.Version {
	case 4:
		if len(body) < 2 || !knownCipher(body[1]) {
			return bad("unknown cipher")
		}
		e.Algorithm = int(body[1])
		n := s2kLen(body[2:])
		if n < 0 {
			return bad("unknown or malformed string-to-key specifier")
		}
		e.S2K = int(body[2])
		rest := len(body) - 2 - n
		if rest != 0 && (rest < 17 || rest > 33) {
			return bad("the encrypted session key has an impossible length")
		}
		if rest != 0 && e.S2K == 0 {
			return bad("an encrypted session key needs a salted string-to-key (RFC 9580 §5.3.1)")
		}
	case 5, 6:
		f := body[1:]
		count := -1
		if e.Version == 6 {
			if len(f) < 1 {
				return bad("too short")
			}
			count = int(f[0])
			f = f[1:]
		}
		if len(f) < 2 || !block16Cipher(f[0]) {
			return bad("unknown cipher or AEAD mode")
		}
		e.Algorithm, e.AEAD = int(f[0]), int(f[1])
		iv := ivLen(e.AEAD)
		if iv == 0 || (e.Version == 5 && e.AEAD == 3) {
			return bad("unknown AEAD mode")
		}
		f = f[2:]
		s2kField := -1
		if e.Version == 6 {
			if len(f) < 1 {
				return bad("too short")
			}
			s2kField = int(f[0])
			f = f[1:]
		}
		n := s2kLen(f)
		if n < 0 || f[0] == 0 {
			return bad("unknown, unsalted or malformed string-to-key specifier")
		}
		if e.Version == 6 && (n != s2kField || count != 3+n+iv) {
			return bad("the length octets disagree with the fields")
		}
		e.S2K = int(f[0])
		rest := len(f) - n - iv
		if rest != 32 && rest != 40 && rest != 48 {
			return bad("the encrypted session key and tag have an impossible length")
		}
	default:
		return bad("unknown version")
	}
	return e, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
