package fault

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/lienthong/lienthong/adapters/sim"
	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/gateway/auth"
	"github.com/lienthong/lienthong/gateway/config"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
	"github.com/lienthong/lienthong/test/procs"
)

// chipQR is the QR on p's chip ID card.
func chipQR(p *sim.Person) string {
	g := "Nam"
	if p.Gender == canonical.GenderFemale {
		g = "Nữ"
	}
	b := p.BirthDate
	return fmt.Sprintf("%s|%s|%s|%02d%02d%04d|%s|%s|01072021", p.Document.Number, p.FormerCMND, p.FullName, b.Day, b.Month, b.Year, g, p.Street)
}

// TestNoPersonalDataInDebugLogs runs partner ingest (pulls, pushes, rejected records),
// lookups, history reads and refused calls against a gateway logging JSON at debug level, and
// requires that no name, document number or phone number of the population appears in its log.
func TestNoPersonalDataInDebugLogs(t *testing.T) {
	const declarations = 3000
	epoch := time.Now().UTC().Truncate(time.Second)
	o := gatewayOptions{name: "gw-logs", dataDir: t.TempDir(), grpcAddr: procs.FreeAddr(t), httpAddr: procs.FreeAddr(t), logLevel: "debug"}
	ps := startPartnersim(t, declarations, "http://"+o.httpAddr, "--epoch", epoch.Format(time.RFC3339))
	o.ncoviURL, o.tokhaiyteURL = ps.Started.NCOVI, ps.Started.Tokhaiyte
	want := truthCounts(ps.Summary(t))
	g := startGateway(t, o)
	ps.WaitPushed(t, 3*time.Minute)
	waitTruth(t, g, want, 3*time.Minute)

	// The same population partnersim serves (same seed, size and epoch).
	pop := sim.Generate(sim.Config{Seed: 1, Declarations: declarations, Epoch: epoch})
	cp, ministry, tk := g.conns.Client(t, tokCheckpoint), g.conns.Client(t, tokMinistry), g.conns.Client(t, suite.PartnerToken(canonical.PlatformTokhaiyte))
	looked := 0
	for _, p := range pop.People {
		if p.Document.Type != canonical.DocumentCCCD || looked == 30 {
			continue
		}
		looked++
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		resp, err := cp.Checkpoint.Lookup(ctx, &lienthongv1.LookupRequest{Qr: chipQR(p)})
		if err == nil && resp.GetStatus() != lienthongv1.Status_STATUS_NONE {
			_, err = ministry.Audit.GetHistory(ctx, &lienthongv1.GetHistoryRequest{QrId: resp.GetQrId(), Reason: "case 2026-11-27/7"})
			if err == nil {
				_, err = cp.Checkpoint.RecordPassage(ctx, &lienthongv1.RecordPassageRequest{PassageId: "log-" + p.ID, StationId: "HCM-Q1-001",
					Person: &lienthongv1.RecordPassageRequest_Qr{Qr: chipQR(p)}, Decision: lienthongv1.Decision_DECISION_ALLOWED, PassedAt: timestamppb.Now()})
			}
		}
		// A malformed QR that still carries the person's data, and a rejected declaration.
		_, _ = cp.Checkpoint.Lookup(ctx, &lienthongv1.LookupRequest{Qr: chipQR(p) + "|extra"})
		_, _ = tk.Ingest.SubmitDeclarations(ctx, &lienthongv1.SubmitDeclarationsRequest{Declarations: []*lienthongv1.Declaration{{
			Source: &lienthongv1.Source{Platform: "tokhaiyte", RecordId: "LOG-" + p.ID, Version: "1"},
			Person: &lienthongv1.Person{FullName: p.FullName, Phone: p.Phone + "999", Document: &lienthongv1.Document{Type: lienthongv1.DocumentType_DOCUMENT_TYPE_CCCD, Number: p.Document.Number + "7"}},
		}}})
		cancel()
		if err != nil {
			t.Fatalf("lookup, history and passage of %s: %v", p.ID, err)
		}
	}
	g.Stop(t)
	logs, err := os.ReadFile(g.StderrPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(logs), `"level":"DEBUG"`) {
		t.Fatalf("the gateway wrote no debug line: the test proves nothing")
	}
	secrets := map[string]string{}
	add := func(what, s string) {
		if len([]rune(s)) >= 6 {
			secrets[s] = what
		}
	}
	for _, p := range pop.People {
		add("name of "+p.ID, p.FullName)
		add("upper-case name of "+p.ID, strings.ToUpper(p.FullName))
		add("document of "+p.ID, p.Document.Number)
		add("former CMND of "+p.ID, p.FormerCMND)
		add("phone of "+p.ID, p.Phone)
		add("national phone of "+p.ID, "0"+strings.TrimPrefix(p.Phone, "+84"))
		add("old phone of "+p.ID, p.OldPhone)
	}
	text := string(logs)
	var found []string
	for s, what := range secrets {
		if strings.Contains(text, s) {
			found = append(found, what)
		}
	}
	lines := strings.Count(text, "\n")
	t.Logf("%d log lines (%d bytes) at debug level checked against %d personal values of %d people", lines, len(logs), len(secrets), len(pop.People))
	if len(found) > 0 {
		t.Fatalf("the log holds %d personal values, e.g. %v", len(found), found[:min(5, len(found))])
	}
}

// certs is a test PKI: a CA and certificates it signs.
type certs struct {
	dir    string
	caCert *x509.Certificate
	caKey  *ecdsa.PrivateKey
	serial int64
}

func newCA(t *testing.T, dir, name string) *certs {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, filepath.Join(dir, name+".pem"), "CERTIFICATE", der)
	return &certs{dir: dir, caCert: c, caKey: key, serial: 1}
}

// issue signs a certificate for cn (a server one for 127.0.0.1 when server is set) and
// returns it with its key.
func (c *certs) issue(t *testing.T, cn string, server bool) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c.serial++
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(c.serial), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	} else {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.caCert, &key.PublicKey, c.caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, filepath.Join(c.dir, cn+".pem"), "CERTIFICATE", der)
	writePEM(t, filepath.Join(c.dir, cn+"-key.pem"), "EC PRIVATE KEY", keyDER)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestMutualTLS runs the gateway with TLS and client certificates: a certificate from the
// configured CA maps to its principal (a checkpoint: lookups pass, audit is refused), one
// from an unknown CA with the same name is refused at the handshake, and a client with
// neither certificate nor token is unauthenticated.
func TestMutualTLS(t *testing.T) {
	dir := t.TempDir()
	ca := newCA(t, dir, "lienthong-test-ca")
	rogue := newCA(t, dir, "rogue-ca")
	ca.issue(t, "gateway", true)
	known := ca.issue(t, "checkpoint-hcm-q1", false)
	unknown := rogue.issue(t, "checkpoint-hcm-q1-rogue", false)
	// The rogue certificate claims the configured name.
	unknownSameCN := rogue.issue(t, "checkpoint-hcm-q1", false)
	o := gatewayOptions{name: "gw-mtls", dataDir: t.TempDir(),
		tls:              &config.TLS{Cert: filepath.Join(dir, "gateway.pem"), Key: filepath.Join(dir, "gateway-key.pem"), ClientCA: filepath.Join(dir, "lienthong-test-ca.pem")},
		extraCredentials: []auth.Credential{{Principal: auth.Principal{ID: "checkpoint-mtls", Role: auth.RoleCheckpoint, Station: "HCM-Q1-002", Area: auth.Area{Province: "79"}}, CertCN: "checkpoint-hcm-q1"}},
	}
	g := startGateway(t, o)
	roots := x509.NewCertPool()
	roots.AddCert(ca.caCert)
	dial := func(t *testing.T, cert *tls.Certificate) (lienthongv1.CheckpointServiceClient, lienthongv1.AuditServiceClient) {
		tc := &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
		if cert != nil {
			// Present the certificate whatever CAs the server asks for (a Go client would
			// otherwise hold back one the server's CA list does not name).
			tc.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
		}
		cc, err := grpc.NewClient(g.opts.grpcAddr, grpc.WithTransportCredentials(credentials.NewTLS(tc)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cc.Close() })
		return lienthongv1.NewCheckpointServiceClient(cc), lienthongv1.NewAuditServiceClient(cc)
	}
	call := func(t *testing.T, cert *tls.Certificate) (lookup, audit error) {
		cp, au := dial(t, cert)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, lookup = cp.Lookup(ctx, &lienthongv1.LookupRequest{Qr: someoneQR})
		_, audit = au.ListAccessLog(ctx, &lienthongv1.ListAccessLogRequest{})
		return lookup, audit
	}
	t.Run("known CA maps to its principal", func(t *testing.T) {
		lookup, audit := call(t, &known)
		if lookup != nil {
			t.Fatalf("lookup with the checkpoint's certificate: %v", lookup)
		}
		if status.Code(audit) != codes.PermissionDenied {
			t.Fatalf("audit with a checkpoint's certificate: %v, want PermissionDenied", audit)
		}
	})
	for name, cert := range map[string]*tls.Certificate{"unknown CA": &unknown, "unknown CA with a configured name": &unknownSameCN} {
		t.Run(name+" refused", func(t *testing.T) {
			lookup, _ := call(t, cert)
			// The server ends the handshake: the call never reaches the gateway and the client
			// sees UNAVAILABLE (with the TLS alert or a broken pipe, as TLS 1.3 timing has it).
			if status.Code(lookup) != codes.Unavailable {
				t.Fatalf("lookup with a certificate from an unknown CA: %v, want the handshake refused", lookup)
			}
		})
	}
	t.Run("no certificate, no token", func(t *testing.T) {
		lookup, _ := call(t, nil)
		if status.Code(lookup) != codes.Unauthenticated {
			t.Fatalf("lookup without credentials: %v, want Unauthenticated", lookup)
		}
	})
}

// TestRateLimitUnderBurst gives partners 1 call/s with a burst of 5: a burst of 40 ingest
// calls gets at most 6 through and the rest RESOURCE_EXHAUSTED, while a checkpoint's lookups
// (its own bucket) all succeed meanwhile.
func TestRateLimitUnderBurst(t *testing.T) {
	limits := map[auth.Role]config.Limit{
		auth.RolePartner:    {Rate: 1, Burst: 5},
		auth.RoleCheckpoint: {Rate: 1000, Burst: 1000},
		auth.RoleMinistry:   {Rate: 1000, Burst: 1000},
	}
	g := startGateway(t, gatewayOptions{name: "gw-limits", dataDir: t.TempDir(), limits: limits})
	tk, cp := g.conns.Client(t, suite.PartnerToken(canonical.PlatformTokhaiyte)), g.conns.Client(t, tokCheckpoint)
	const burst, lookups = 40, 100
	var mu sync.Mutex
	partnerCodes, lookupCodes := map[codes.Code]int{}, map[codes.Code]int{}
	var wg sync.WaitGroup
	for i := range burst {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err := tk.Ingest.GetSignedQR(ctx, &lienthongv1.GetSignedQRRequest{Person: &lienthongv1.GetSignedQRRequest_QrId{QrId: fmt.Sprintf("burst-%d", i)}})
			mu.Lock()
			partnerCodes[status.Code(err)]++
			mu.Unlock()
		}()
	}
	for range lookups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err := cp.Checkpoint.Lookup(ctx, &lienthongv1.LookupRequest{Qr: someoneQR})
			mu.Lock()
			lookupCodes[status.Code(err)]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	t.Logf("partner burst of %d: %v; concurrent checkpoint lookups %d: %v", burst, partnerCodes, lookups, lookupCodes)
	limited := partnerCodes[codes.ResourceExhausted]
	if limited < burst-6 || limited == burst {
		t.Errorf("%d of %d partner calls limited, want all but the burst of 5 (+1 refill)", limited, burst)
	}
	if lookupCodes[codes.OK] != lookups {
		t.Errorf("checkpoint lookups during the partner burst: %v, want all %d OK", lookupCodes, lookups)
	}
}
