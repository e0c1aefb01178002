package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Kind says what a record's body holds.
type Kind uint8

const (
	// KindRaw is an article body kept as received, because it could not be
	// dearmored.
	KindRaw Kind = 0
	// KindOpenPGP is the binary OpenPGP message decoded from the armor.
	KindOpenPGP Kind = 1
)

// Limits on one record.
const (
	MaxBody      = 64 << 20
	maxField     = 1 << 10
	recordHeader = 4 // length prefix
	recordFixed  = 1 + 8 + 8 + 2 + 2
	recordTrail  = 4 // CRC-32C
)

// Record is one stored article. In records returned by a scan, the slices
// point into a buffer that is reused after the callback returns.
type Record struct {
	Kind      Kind
	Number    int64  // article number on the server
	Date      int64  // Unix seconds from the Date header, 0 if unknown
	MessageID string // with angle brackets
	Subject   string
	Body      []byte
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrCorrupt means a record's framing or checksum is wrong.
var ErrCorrupt = errors.New("spool: corrupt record")

// appendRecord encodes r:
//
//	u32 n (little-endian) | payload (n octets) | u32 CRC-32C(payload)
//	payload = u8 kind | i64 number | i64 date | u16 len | message-id |
//	          u16 len | subject | body (the rest)
func appendRecord(b []byte, r *Record) ([]byte, error) {
	if len(r.Body) > MaxBody || len(r.MessageID) > maxField || len(r.Subject) > maxField {
		return nil, fmt.Errorf("spool: article %d too large to store", r.Number)
	}
	n := recordFixed + len(r.MessageID) + len(r.Subject) + len(r.Body)
	b = binary.LittleEndian.AppendUint32(b, uint32(n))
	start := len(b)
	b = append(b, byte(r.Kind))
	b = binary.LittleEndian.AppendUint64(b, uint64(r.Number))
	b = binary.LittleEndian.AppendUint64(b, uint64(r.Date))
	b = binary.LittleEndian.AppendUint16(b, uint16(len(r.MessageID)))
	b = append(b, r.MessageID...)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(r.Subject)))
	b = append(b, r.Subject...)
	b = append(b, r.Body...)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b[start:], castagnoli)), nil
}

// parseRecord decodes the record at the start of b. It returns the number of
// octets used, or 0 (and no error) when b holds only part of a record; need
// is then the full size of the record.
func parseRecord(b []byte, r *Record) (used, need int, err error) {
	if len(b) < recordHeader {
		return 0, recordHeader, nil
	}
	n := int(binary.LittleEndian.Uint32(b))
	if n < recordFixed || n > recordFixed+2*maxField+MaxBody {
		return 0, 0, ErrCorrupt
	}
	total := recordHeader + n + recordTrail
	if len(b) < total {
		return 0, total, nil
	}
	p := b[recordHeader : recordHeader+n]
	if crc32.Checksum(p, castagnoli) != binary.LittleEndian.Uint32(b[recordHeader+n:]) {
		return 0, 0, ErrCorrupt
	}
	r.Kind = Kind(p[0])
	r.Number = int64(binary.LittleEndian.Uint64(p[1:]))
	r.Date = int64(binary.LittleEndian.Uint64(p[9:]))
	p = p[17:]
	l := int(binary.LittleEndian.Uint16(p))
	p = p[2:]
	if len(p) < l+2 {
		return 0, 0, ErrCorrupt
	}
	r.MessageID = string(p[:l])
	p = p[l:]
	l = int(binary.LittleEndian.Uint16(p))
	p = p[2:]
	if len(p) < l {
		return 0, 0, ErrCorrupt
	}
	r.Subject = string(p[:l])
	r.Body = p[l:]
	return total, total, nil
}
