package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/gateway/auth"
	"github.com/lienthong/lienthong/gateway/config"
)

// testPKI writes a CA, a server certificate for 127.0.0.1 and a client certificate with
// common name clientCN, as PEM files in dir.
type testPKI struct{ ca, serverCert, serverKey, clientCert, clientKey string }

func newTestPKI(t *testing.T, clientCN string) testPKI {
	t.Helper()
	dir := t.TempDir()
	now := time.Now()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, NotBefore: now.Add(-time.Hour),
		NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	issue := func(serial int64, cn string, usage x509.ExtKeyUsage, ips []net.IP) (string, string) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn}, NotBefore: now.Add(-time.Hour),
			NotAfter: now.Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{usage}, IPAddresses: ips, KeyUsage: x509.KeyUsageDigitalSignature}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kder, _ := x509.MarshalECPrivateKey(key)
		return write(cn+".pem", "CERTIFICATE", der), write(cn+".key", "EC PRIVATE KEY", kder)
	}
	p := testPKI{ca: write("ca.pem", "CERTIFICATE", caDER)}
	p.serverCert, p.serverKey = issue(2, "gateway", x509.ExtKeyUsageServerAuth, []net.IP{net.ParseIP("127.0.0.1")})
	p.clientCert, p.clientKey = issue(3, clientCN, x509.ExtKeyUsageClientAuth, nil)
	return p
}

func TestClientTLS(t *testing.T) {
	pki := newTestPKI(t, "auditor-mtls")
	creds := []auth.Credential{{Principal: auth.Principal{ID: "auditor-mtls", Role: auth.RoleMinistry}, CertCN: "auditor-mtls"}}
	addr := startTestGateway(t, creds, func(c *config.Config) {
		c.TLS = config.TLS{Cert: pki.serverCert, Key: pki.serverKey, ClientCA: pki.ca}
	})

	// Server TLS only: the public keys need no principal.
	mustRun(t, 0, "keys", "list", "--addr", addr, "--tls-ca", pki.ca)
	// mTLS: the client certificate is the principal.
	mustRun(t, 0, "audit", "stats", "--addr", addr, "--tls-ca", pki.ca, "--tls-cert", pki.clientCert, "--tls-key", pki.clientKey)
	// TLS without a certificate or token: refused, with what to do.
	_, errOut := mustRun(t, 1, "audit", "stats", "--addr", addr, "--tls-ca", pki.ca)
	if !strings.Contains(errOut, "Unauthenticated") || !strings.Contains(errOut, "--token") {
		t.Errorf("stderr %q", errOut)
	}
	// A gateway speaking TLS to a plaintext client does not answer.
	mustRun(t, 1, "keys", "list", "--addr", addr)
	// A CA file that is not PEM is a usage error.
	_, errOut = mustRun(t, 2, "keys", "list", "--addr", addr, "--tls-ca", pki.clientKey)
	if !strings.Contains(errOut, "no PEM certificate") {
		t.Errorf("stderr %q", errOut)
	}
}
