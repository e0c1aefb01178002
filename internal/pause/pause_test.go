package pause

import (
	"context"
	"testing"
	"time"
)

func TestFor(t *testing.T) {
	if !For(context.Background(), time.Millisecond) {
		t.Error("a delay that ran out reported a cancelled context")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	if For(ctx, time.Hour) {
		t.Error("a cancelled context reported the delay run out")
	}
	if d := time.Since(start); d > time.Minute {
		t.Errorf("waited %v on a cancelled context", d)
	}
}
