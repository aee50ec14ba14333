package procs

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// Bearer sends a bearer token with every call, over a plain (test) connection.
type Bearer string

// GetRequestMetadata sets the authorization header.
func (b Bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

// RequireTransportSecurity is false: the test gateways listen on loopback without TLS.
func (Bearer) RequireTransportSecurity() bool { return false }

// Dial opens a plain connection to the gateway's gRPC address that sends token with every call.
func Dial(addr, token string) (*grpc.ClientConn, error) {
	return grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(Bearer(token)))
}

// Clients are the gateway's services as one principal calls them.
type Clients struct {
	Audit      lienthongv1.AuditServiceClient
	Checkpoint lienthongv1.CheckpointServiceClient
	Ingest     lienthongv1.IngestServiceClient
}

// NewClients is the gateway's services over c.
func NewClients(c *grpc.ClientConn) Clients {
	return Clients{Audit: lienthongv1.NewAuditServiceClient(c), Checkpoint: lienthongv1.NewCheckpointServiceClient(c), Ingest: lienthongv1.NewIngestServiceClient(c)}
}

// Conns keeps one connection per bearer token to the gateway at Addr, opened on first use.
type Conns struct {
	Addr    string
	byToken map[string]*grpc.ClientConn
}

// Client returns the services called with token, over the token's connection.
func (cs *Conns) Client(t testing.TB, token string) Clients {
	t.Helper()
	c := cs.byToken[token]
	if c == nil {
		var err error
		c, err = Dial(cs.Addr, token)
		if err != nil {
			t.Fatal(err)
		}
		if cs.byToken == nil {
			cs.byToken = map[string]*grpc.ClientConn{}
		}
		cs.byToken[token] = c
	}
	return NewClients(c)
}

// Close closes every connection; a later Client opens new ones.
func (cs *Conns) Close() {
	for k, c := range cs.byToken {
		c.Close()
		delete(cs.byToken, k)
	}
}
