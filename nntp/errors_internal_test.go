package nntp

import (
	"errors"
	"fmt"
	"testing"
)

// TestFeedResponse checks that each transit stage only answers the codes
// its RFC allows, whatever a backend returns.
func TestFeedResponse(t *testing.T) {
	internal := errors.New("disk on fire")
	rejected := fmt.Errorf("%w: not ciphertext", ErrRejected)
	for _, c := range []struct {
		err    error
		family CommandFamily
		second bool
		want   int
	}{
		{ErrDuplicate, CmdIHave, false, 435},
		{rejected, CmdIHave, false, 435},
		{ErrTryLater, CmdIHave, false, 436},
		{internal, CmdIHave, false, 403},
		{ErrDuplicate, CmdIHave, true, 437},
		{rejected, CmdIHave, true, 437},
		{ErrTryLater, CmdIHave, true, 436},
		{&Error{Code: 441, Msg: "x"}, CmdIHave, true, 437},
		{&Error{Code: 431, Msg: "x"}, CmdIHave, false, 436},
		{ErrDuplicate, CmdCheck, false, 438},
		{rejected, CmdCheck, false, 438},
		{ErrTryLater, CmdCheck, false, 431},
		{&Error{Code: 435, Msg: "x"}, CmdCheck, false, 438},
		{&Error{Code: 436, Msg: "x"}, CmdCheck, false, 431},
		{ErrDuplicate, CmdTakeThis, true, 439},
		{rejected, CmdTakeThis, true, 439},
		{ErrTryLater, CmdTakeThis, true, 400},
		{&Error{Code: 437, Msg: "x"}, CmdTakeThis, true, 439},
		{&Error{Code: 436, Msg: "x"}, CmdTakeThis, true, 400},
		{internal, CmdTakeThis, true, 403},
	} {
		if got := feedResponse(c.err, c.family, c.second); got.Code != c.want {
			t.Errorf("%v family %d second %v: %d, want %d", c.err, c.family, c.second, got.Code, c.want)
		}
	}
	if e := feedResponse(rejected, CmdTakeThis, true); e.Msg != "article rejected: not ciphertext" || !errors.Is(e, ErrRejected) {
		t.Errorf("reason lost: %+v", e)
	}
}

func TestSanitizeText(t *testing.T) {
	if got := sanitizeText("a\r\nb\x00c"); got != "a  b c" {
		t.Errorf("%q", got)
	}
	long := make([]byte, 1000)
	for i := range long {
		long[i] = 'x'
	}
	if got := sanitizeText(string(long)); len(got) != 400 {
		t.Errorf("length %d", len(got))
	}
	if got := sanitizeText(string(long[:399]) + "ü"); got != string(long[:399]) {
		t.Errorf("split rune: %q", got[390:])
	}
}
