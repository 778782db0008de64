package e2e

import (
	"errors"
	"fmt"
	"strconv"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"sluice.dev/sluice/test/support"
)

// TestClusterTCPServicesConfigMap drives the TCP services ConfigMap
// through a round trip: a new key opens its port and relays to the
// Service's endpoints, a new target repoints it, a removed key closes it,
// a key added again reopens it, the relay follows the Service's endpoints,
// and none of this disturbs the other port or a connection open on it.
func TestClusterTCPServicesConfigMap(t *testing.T) {
	e := newEnv(t, "tcp")
	echoA := startEcho(t, "echo-a", "127.0.0.2", 0)
	echoB := startEcho(t, "echo-b", "127.0.0.3", 0)
	for name, srv := range map[string]*lineEcho{"echo-a": echoA, "echo-b": echoB} {
		e.createService(name, svcPort("tcp", 7000, intstr.FromString("tcp")))
		e.setEndpoints(name, "tcp", endpoint{addr: srv.addr})
	}
	p1, p2 := support.FreePort(t), support.FreePort(t)
	addr1, addr2 := fmt.Sprintf("127.0.0.1:%d", p1), fmt.Sprintf("127.0.0.1:%d", p2)

	_, httpAddr := e.controller("--leader-elect=false", "--tcp-services-configmap", e.ns+"/tcp-services", "--tcp-bind-address", "127.0.0.1")
	if _, err := dialLine(addr1); err == nil {
		t.Fatalf("port %d is open before the ConfigMap exists", p1)
	}

	cms := e.cs.CoreV1().ConfigMaps(e.ns)
	cm, err := cms.Create(e.ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "tcp-services"},
		Data: map[string]string{
			strconv.Itoa(p1): e.ns + "/echo-a:7000",
			strconv.Itoa(p2): e.ns + "/echo-b:tcp", // a port name works too
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	relaysTo := func(addr, server string) func() bool {
		return func() bool {
			got, err := tcpAsk(addr, "ping")
			return err == nil && got == server+": ping"
		}
	}
	waitFor(t, 10*time.Second, "port 1 relaying to echo-a", relaysTo(addr1, "echo-a"))
	waitFor(t, 10*time.Second, "port 2 relaying to echo-b", relaysTo(addr2, "echo-b"))

	// A connection stays open on port 2 through every change of port 1.
	held, err := dialLine(addr2)
	if err != nil {
		t.Fatal(err)
	}
	defer held.close()
	exchanges := 0
	checkHeld := func(when string) {
		t.Helper()
		exchanges++
		line := fmt.Sprintf("held %d", exchanges)
		if got, err := held.say(line); err != nil || got != "echo-b: "+line {
			t.Fatalf("%s: the open connection on port 2 answered %q, %v", when, got, err)
		}
	}
	checkHeld("before any change")
	// One on port 1 too: established connections outlive the changes of
	// their own port (as across an HAProxy reload), on their old target.
	held1, err := dialLine(addr1)
	if err != nil {
		t.Fatal(err)
	}
	defer held1.close()
	checkHeld1 := func(when string) {
		t.Helper()
		if got, err := held1.say(when); err != nil || got != "echo-a: "+when {
			t.Fatalf("%s: the connection open on port 1 answered %q, %v", when, got, err)
		}
	}
	checkHeld1("before any change")

	// Repoint port 1.
	cm.Data[strconv.Itoa(p1)] = e.ns + "/echo-b:7000"
	if cm, err = cms.Update(e.ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "port 1 repointed to echo-b", relaysTo(addr1, "echo-b"))
	checkHeld("after port 1 was repointed")
	checkHeld1("after port 1 was repointed")

	// Remove port 1's key: the port closes.
	delete(cm.Data, strconv.Itoa(p1))
	if cm, err = cms.Update(e.ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "port 1 to close", func() bool {
		c, err := dialLine(addr1)
		if err == nil {
			c.close()
			return false
		}
		// A connection that completed its handshake while the listener
		// was closing is reset with the listener's queue; the next dial
		// shows whether the port is gone.
		if errors.Is(err, syscall.ECONNRESET) {
			return false
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("dialing the removed port: %v, want connection refused", err)
		}
		return true
	})
	checkHeld("after port 1 was removed")
	checkHeld1("after port 1 was removed")
	if !relaysTo(addr2, "echo-b")() {
		t.Error("new connections to port 2 fail after port 1 was removed")
	}

	// The key comes back: the port opens again; then the Service's
	// endpoints change and the relay follows them.
	cm.Data[strconv.Itoa(p1)] = e.ns + "/echo-a:7000"
	if cm, err = cms.Update(e.ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "port 1 open again, relaying to echo-a", relaysTo(addr1, "echo-a"))
	echoC := startEcho(t, "echo-c", "127.0.0.4", 0)
	e.setEndpoints("echo-a", "tcp", endpoint{addr: echoC.addr})
	waitFor(t, 10*time.Second, "port 1 following echo-a's endpoints to echo-c", relaysTo(addr1, "echo-c"))
	checkHeld("after port 1 came back")
	// The HTTP listener is untouched by all this.
	if resp, err := tryGet(httpAddr, "nothing.example", "/", nil); err != nil || resp.StatusCode != 404 {
		t.Errorf("HTTP listener after the TCP changes: %v %v", resp, err)
	}
}
