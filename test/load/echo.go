package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// echoEnv makes the harness's own binary (or its test binary) serve the echo baseline
// instead of running the harness: the echo server is a separate process, as the gateway is.
const echoEnv = "LIENTHONG_LOAD_ECHO_SERVER"

// serveEchoIfAsked serves the bare gRPC health service and the ingest sink on a free loopback
// port, prints the address on stdout and serves until stdin closes; ok is false when the
// variable is unset.
func serveEchoIfAsked() (code int, ok bool) {
	if os.Getenv(echoEnv) != "1" {
		return 0, false
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "echo:", err)
		return 1, true
	}
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, health.NewServer())
	lienthongv1.RegisterIngestServiceServer(srv, ingestSink{})
	go func() { _ = srv.Serve(lis) }()
	fmt.Println(lis.Addr().String())
	_, _ = io.Copy(io.Discard, os.Stdin) // the harness closes stdin (or dies) to stop us
	srv.Stop()
	return 0, true
}

// ingestSink is the ingest baseline: StreamDeclarations as gRPC alone costs it. It receives
// (and so decodes) every message, as the gateway does, counts the declarations as accepted
// and stores nothing.
type ingestSink struct {
	lienthongv1.UnimplementedIngestServiceServer
}

func (ingestSink) StreamDeclarations(stream lienthongv1.IngestService_StreamDeclarationsServer) error {
	resp := &lienthongv1.StreamDeclarationsResponse{}
	for {
		msg, err := stream.Recv()
		if err == io.EOF {
			return stream.SendAndClose(resp)
		}
		if err != nil {
			return err
		}
		resp.AcceptedCount += int32(len(msg.GetDeclarations()))
		resp.BatchCount++
	}
}

// echoServer is the echo baseline's process.
type echoServer struct {
	*child
	addr  string
	stdin io.WriteCloser
}

// startEcho re-runs this binary as the echo server and reads its address.
func startEcho(ctx context.Context) (*echoServer, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), echoEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	c, err := startChild("echo server", cmd)
	if err != nil {
		return nil, err
	}
	addrCh := make(chan string, 1)
	go func() {
		buf := make([]byte, 64)
		n, _ := pr.Read(buf)
		addrCh <- strings.TrimSpace(string(buf[:n]))
		_, _ = io.Copy(io.Discard, pr)
	}()
	select {
	case addr := <-addrCh:
		e := &echoServer{child: c, addr: addr, stdin: stdin}
		if err := waitHealthy(ctx, c, addr); err != nil {
			e.stop()
			return nil, err
		}
		return e, nil
	case <-time.After(startDeadline):
		stdin.Close()
		c.stop()
		return nil, fmt.Errorf("echo server printed no address:\n%s", c.out)
	}
}

func (e *echoServer) stop() {
	e.stdin.Close()
	e.child.stop()
}
