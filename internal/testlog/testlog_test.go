package testlog

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

func TestConcurrentLogging(t *testing.T) {
	var buf Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				log.Info("line", "writer", i, "n", j)
				_ = buf.String()
			}
		}()
	}
	wg.Wait()
	got := buf.String()
	if n := strings.Count(got, "\n"); n != 400 {
		t.Fatalf("%d lines, want 400", n)
	}
	if !strings.Contains(got, fmt.Sprintf("writer=%d n=%d", 7, 49)) {
		t.Errorf("last line of writer 7 missing:\n%s", got)
	}
}
