package boltstore

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/lienthong/lienthong/gateway/store"
	"github.com/lienthong/lienthong/gateway/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) store.Store {
		s, err := Open(filepath.Join(t.TempDir(), "lienthong.db"), Options{Now: now, Timeout: time.Second})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return s
	})
}
