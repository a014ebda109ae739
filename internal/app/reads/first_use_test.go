package reads

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

func TestOnFirstUse(t *testing.T) {
	ctx := context.Background()
	var builds atomic.Int32
	fail := true
	get := onFirstUse(func(context.Context) (int, error) {
		builds.Add(1)
		if fail {
			return 0, errors.New("kms: throttled")
		}
		return 42, nil
	})
	if _, err := get(ctx); err == nil {
		t.Fatal("a failed build was not reported")
	}
	fail = false
	// A failure is not kept: the next use tries again, and its success is kept.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if v, err := get(ctx); v != 42 || err != nil {
				t.Errorf("got %d, %v", v, err)
			}
		})
	}
	wg.Wait()
	if n := builds.Load(); n != 2 {
		t.Fatalf("%d builds, want 2: one failed, one kept", n)
	}
}
