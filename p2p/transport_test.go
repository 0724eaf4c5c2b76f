package p2p

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestQUICOnly(t *testing.T) {
	quicOnly := func(c *Config) { c.ListenAddrs = []string{"/ip4/127.0.0.1/udp/0/quic-v1"} }
	a, b := newTestNode(t, quicOnly), newTestNode(t, quicOnly)
	if !strings.Contains(a.Addrs()[0].String(), "/quic-v1/p2p/12D3") {
		t.Fatalf("address %s is not a full QUIC multiaddr", a.Addrs()[0])
	}
	connectAll(t, a, b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	data := randomBytes(2<<20+3, 13)
	root, _ := a.Blocks().ImportBytes(ctx, data)
	if _, err := b.Blocks().Fetch(ctx, root, int64(len(data)), nil); err != nil {
		t.Fatal(err)
	}
	checkExport(t, b.Blocks(), root, data)
}

// mdnsNetnsEnv marks the copy of the test binary that runs inside its own
// network namespace.
const mdnsNetnsEnv = "COLDNODE_TEST_MDNS_NETNS"

// TestMDNSFindsPeers needs working multicast. Where the test runs as root with
// unshare and ip at hand (CI), it re-runs itself in a fresh network namespace
// whose loopback carries multicast, so the host's interfaces and firewall
// cannot decide the result; elsewhere it uses the host's network.
func TestMDNSFindsPeers(t *testing.T) {
	if os.Getenv(mdnsNetnsEnv) == "" && canUnshareNet() {
		runInNetns(t, "TestMDNSFindsPeers")
		return
	}
	service := fmt.Sprintf("coldnode-test-%d", time.Now().UnixNano())
	on := func(c *Config) { c.MDNS, c.MDNSService = true, service }
	a, b := newTestNode(t, on), newTestNode(t, on)
	eventually(t, 20*time.Second, "mDNS discovery", func() bool { return connected(a, b.ID()) })
}

func canUnshareNet() bool {
	if os.Geteuid() != 0 {
		return false
	}
	_, errU := exec.LookPath("unshare")
	_, errI := exec.LookPath("ip")
	return errU == nil && errI == nil && exec.Command("unshare", "-n", "true").Run() == nil
}

// runInNetns runs one test of this binary again inside a new network
// namespace with loopback up and multicast routed over it.
func runInNetns(t *testing.T, name string) {
	t.Helper()
	script := `ip link set lo up multicast on && ip route add 224.0.0.0/4 dev lo && ` +
		`exec "$0" -test.run "^$1\$" -test.count 1 -test.v`
	cmd := exec.Command("unshare", "-n", "sh", "-c", script, os.Args[0], name)
	cmd.Env = append(os.Environ(), mdnsNetnsEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+name) {
		t.Fatalf("%s in a private network namespace: %v\n%s", name, err, out)
	}
}
