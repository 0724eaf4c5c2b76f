package node

import (
	"errors"
	"fmt"
	"net"
	"syscall"

	ma "github.com/multiformats/go-multiaddr"
)

// checkListen fails when a fixed --listen port is already held. libp2p binds
// with SO_REUSEPORT, so a second node on the same port would start silently
// and share (and steal) the first one's connections; a plain bind without
// that option fails on a port someone holds, which is what this probes.
// Port 0 and addresses that are neither TCP nor UDP are not probed.
func checkListen(addrs []string) error {
	for _, s := range addrs {
		network, hostPort, ok := probeAddr(s)
		if !ok {
			continue
		}
		if err := probe(network, hostPort); err != nil {
			return hint(fmt.Errorf("listen address %s: %w", s, err),
				"another program uses a --listen port (another coldnode node?); choose another (port 0 picks a free one)")
		}
	}
	return nil
}

// probeAddr turns /ip4/A/tcp/P... or /ip6/A/udp/P/quic-v1 into a Go network
// and address; ok is false for port 0 and for anything else.
func probeAddr(s string) (network, hostPort string, ok bool) {
	m, err := ma.NewMultiaddr(s)
	if err != nil {
		return "", "", false
	}
	ip, err := m.ValueForProtocol(ma.P_IP4)
	if err != nil {
		if ip, err = m.ValueForProtocol(ma.P_IP6); err != nil {
			return "", "", false
		}
	}
	for _, p := range []struct {
		code int
		name string
	}{{ma.P_TCP, "tcp"}, {ma.P_UDP, "udp"}} {
		if port, err := m.ValueForProtocol(p.code); err == nil && port != "0" {
			return p.name, net.JoinHostPort(ip, port), true
		}
	}
	return "", "", false
}

func probe(network, hostPort string) error {
	if network == "udp" {
		c, err := net.ListenPacket(network, hostPort)
		if err != nil {
			return portError(err)
		}
		return c.Close()
	}
	l, err := net.Listen(network, hostPort)
	if err != nil {
		return portError(err)
	}
	return l.Close()
}

// ErrPortBusy is wrapped when a --listen port is already in use.
var ErrPortBusy = errors.New("port already in use")

func portError(err error) error {
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("%w: %w", ErrPortBusy, err)
	}
	return err
}
