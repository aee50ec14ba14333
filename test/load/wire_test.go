package main

import (
	"context"
	"net"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/proto"

	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// TestRawCodecTalksToAProtoServer sends a pre-encoded request to a real gRPC server that
// decodes with the ordinary proto codec, and reads its answer as bytes that decode to what the
// server said.
func TestRawCodecTalksToAProtoServer(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	hs := health.NewServer()
	hs.SetServingStatus("lookup", healthpb.HealthCheckResponse_NOT_SERVING)
	healthpb.RegisterHealthServer(srv, hs)
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()
	cc, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()

	// The service name travels encoded: the server's answer is about "lookup", not "".
	req := encode(&healthpb.HealthCheckRequest{Service: "lookup"})
	var a answer
	if err := cc.Invoke(context.Background(), healthpb.Health_Check_FullMethodName, &req, &a, raw); err != nil {
		t.Fatal(err)
	}
	var resp healthpb.HealthCheckResponse
	if err := proto.Unmarshal(a.b, &resp); err != nil {
		t.Fatalf("answer bytes do not decode: %v", err)
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("status = %v, want NOT_SERVING (the service named in the encoded request)", resp.GetStatus())
	}
	// Ordinary messages still go through the proto codec with the same option.
	var typed healthpb.HealthCheckResponse
	if err := cc.Invoke(context.Background(), healthpb.Health_Check_FullMethodName, &healthpb.HealthCheckRequest{}, &typed, raw); err != nil {
		t.Fatal(err)
	}
	if typed.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("status of the server as a whole = %v, want SERVING", typed.GetStatus())
	}
}

// TestCheckFound counts an answer that found no declaration, or that does not decode, as an
// error, and a found person as none.
func TestCheckFound(t *testing.T) {
	found := encode(&lienthongv1.LookupResponse{QrId: "Q1", Status: lienthongv1.Status_STATUS_CLEAR, Newest: &lienthongv1.DeclarationSummary{}})
	if err := checkFound(found); err != nil {
		t.Errorf("a found person: %v", err)
	}
	none := encode(&lienthongv1.LookupResponse{QrId: "Q2", Status: lienthongv1.Status_STATUS_NONE})
	if err := checkFound(none); err == nil || !strings.Contains(err.Error(), "Q2") {
		t.Errorf("an answer that found nobody: error %v, want one naming Q2", err)
	}
	if err := checkFound([]byte{0xff, 0xff}); err == nil {
		t.Error("bytes that are no LookupResponse: no error")
	}
}
