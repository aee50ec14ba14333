package gateway_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"

	"github.com/lienthong/lienthong/gateway/auth"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// testCA issues certificates for the TLS test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newTestCA(t *testing.T) testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "lienthong test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return testCA{cert: cert, key: key}
}

// issue returns a certificate for cn (a server certificate for 127.0.0.1 when server).
func (ca testCA) issue(t *testing.T, cn string, server bool) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestClientCertificates: a partner may authenticate with a client certificate instead of a
// token; a certificate of an unknown name, or one from another CA, is not a principal.
func TestClientCertificates(t *testing.T) {
	ca, rogue := newTestCA(t), newTestCA(t)
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	serverTLS := &tls.Config{
		Certificates: []tls.Certificate{ca.issue(t, "gateway", true)},
		ClientCAs:    pool, ClientAuth: tls.VerifyClientCertIfGiven, MinVersion: tls.VersionTLS13,
	}
	h := newHarnessWith(t, harnessOptions{
		serverOpts: []grpc.ServerOption{grpc.Creds(credentials.NewTLS(serverTLS))},
		extraCreds: []auth.Credential{{Principal: auth.Principal{ID: "partner-bluezone-mtls", Role: auth.RolePartner, Platform: "bluezone"}, CertCN: "bluezone.vn"}},
	})
	dial := func(t *testing.T, cert *tls.Certificate, token string) lienthongv1.IngestServiceClient {
		cfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS13}
		if cert != nil {
			cfg.Certificates = []tls.Certificate{*cert}
		}
		opts := []grpc.DialOption{grpc.WithTransportCredentials(credentials.NewTLS(cfg))}
		if token != "" {
			opts = append(opts, grpc.WithPerRPCCredentials(bearer(token)))
		}
		cc, err := grpc.NewClient(h.addr, opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cc.Close() })
		return lienthongv1.NewIngestServiceClient(cc)
	}
	good := ca.issue(t, "bluezone.vn", false)
	unknown := ca.issue(t, "someone.vn", false)
	forged := rogue.issue(t, "bluezone.vn", false)
	tests := []struct {
		name  string
		cert  *tls.Certificate
		token string
		code  codes.Code
	}{
		{"known certificate", &good, "", codes.OK},
		{"certificate of an unknown name", &unknown, "", codes.Unauthenticated},
		// The server does not accept the handshake: the call fails, never as the partner.
		{"certificate from another CA", &forged, "", codes.Unavailable},
		{"no certificate, no token", nil, "", codes.Unauthenticated},
		{"no certificate, a token", nil, tokBluezone, codes.OK},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := "BZ-tls-" + string(rune('a'+i))
			_, err := dial(t, tc.cert, tc.token).SubmitDeclarations(ctx(t), &lienthongv1.SubmitDeclarationsRequest{
				Declarations: []*lienthongv1.Declaration{decl("bluezone", id, an, h.clock.Now().Add(-time.Hour))}})
			wantCode(t, err, tc.code)
		})
	}
}
