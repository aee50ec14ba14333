package ports

import (
	"net"
	"strconv"
	"testing"
)

// Free gives loopback ports below the ephemeral range that a child can then bind.
func TestFreeIsBelowTheEphemeralRangeAndBindable(t *testing.T) {
	for range 20 {
		a, err := FreeAddr()
		if err != nil {
			t.Fatal(err)
		}
		host, port, err := net.SplitHostPort(a)
		if err != nil || host != "127.0.0.1" {
			t.Fatalf("FreeAddr = %q, want 127.0.0.1:port", a)
		}
		if p, _ := strconv.Atoi(port); p < Lowest || p >= EphemeralLow() {
			t.Errorf("port %d, want in [%d, %d)", p, Lowest, EphemeralLow())
		}
		l, err := net.Listen("tcp", a)
		if err != nil {
			t.Fatalf("listen on %s: %v", a, err)
		}
		l.Close()
	}
}

// A port someone listens on is never given.
func TestFreeSkipsAPortInUse(t *testing.T) {
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	inUse := map[string]bool{}
	for range 50 {
		a, err := FreeAddr()
		if err != nil {
			t.Fatal(err)
		}
		if inUse[a] {
			t.Fatalf("FreeAddr gave %s, which is listened on", a)
		}
		l, err := net.Listen("tcp", a)
		if err != nil {
			t.Fatalf("listen on %s: %v", a, err)
		}
		held = append(held, l)
		inUse[a] = true
	}
}
