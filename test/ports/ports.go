// Package ports finds free loopback ports for the processes that tests and the load harness
// start.
package ports

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
)

// Lowest is the lowest port Free draws: above the well-known and most registered services'
// ports.
const Lowest = 20000

// draws is how many ports Free tries before it gives up.
const draws = 200

// Free returns a loopback port nobody listens on now, for a child process to bind (and to
// bind again after a restart). It is drawn below the kernel's ephemeral range, where outgoing
// connections take their source ports and ":0" listeners theirs: between this check and the
// child's own bind, a connection of a test running in parallel cannot take it (with a port
// from ":0", one did: "bind: address already in use").
func Free() (int, error) {
	high := EphemeralLow()
	for range draws {
		port := Lowest + rand.IntN(high-Lowest)
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue // taken: draw again
		}
		l.Close()
		return port, nil
	}
	return 0, fmt.Errorf("ports: no free loopback port between %d and %d after %d draws", Lowest, high, draws)
}

// FreeAddr is Free as an address, 127.0.0.1:port.
func FreeAddr() (string, error) {
	port, err := Free()
	if err != nil {
		return "", err
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), nil
}

// EphemeralLow is the first port of the kernel's ephemeral range (Linux's
// ip_local_port_range), or Linux's default 32768 where it cannot be read or leaves too little
// room below it.
func EphemeralLow() int {
	const fallback = 32768
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return fallback
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return fallback
	}
	low, err := strconv.Atoi(f[0])
	if err != nil || low < Lowest+1000 {
		return fallback
	}
	return low
}
