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
		ctx    Context
		second bool
		want   int
	}{
		{ErrDuplicate, CtxIHave, false, 435},
		{rejected, CtxIHave, false, 435},
		{ErrTryLater, CtxIHave, false, 436},
		{internal, CtxIHave, false, 403},
		{ErrDuplicate, CtxIHave, true, 437},
		{rejected, CtxIHave, true, 437},
		{ErrTryLater, CtxIHave, true, 436},
		{&Error{Code: 441, Msg: "x"}, CtxIHave, true, 437},
		{&Error{Code: 431, Msg: "x"}, CtxIHave, false, 436},
		{ErrDuplicate, CtxCheck, false, 438},
		{rejected, CtxCheck, false, 438},
		{ErrTryLater, CtxCheck, false, 431},
		{&Error{Code: 435, Msg: "x"}, CtxCheck, false, 438},
		{&Error{Code: 436, Msg: "x"}, CtxCheck, false, 431},
		{ErrDuplicate, CtxTakeThis, true, 439},
		{rejected, CtxTakeThis, true, 439},
		{ErrTryLater, CtxTakeThis, true, 400},
		{&Error{Code: 437, Msg: "x"}, CtxTakeThis, true, 439},
		{&Error{Code: 436, Msg: "x"}, CtxTakeThis, true, 400},
		{internal, CtxTakeThis, true, 403},
	} {
		if got := feedResponse(c.err, c.ctx, c.second); got.Code != c.want {
			t.Errorf("%v ctx %d second %v: %d, want %d", c.err, c.ctx, c.second, got.Code, c.want)
		}
	}
	if e := feedResponse(rejected, CtxTakeThis, true); e.Msg != "article rejected: not ciphertext" || !errors.Is(e, ErrRejected) {
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
