package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// DefaultClientAddr is the gateway address the client subcommands dial when neither --addr
// nor LIENTHONG_ADDR says otherwise.
const DefaultClientAddr = "127.0.0.1:7400"

// clientRecvLimit lets an answer carrying many violations through (the gateway's own limit
// bounds what it sends).
const clientRecvLimit = 64 << 20

// subcommand describes one client subcommand for its --help text.
type subcommand struct {
	name    string // "lookup", "audit stats", ...
	args    string // "<QR string>"
	summary string // one line
	example string // one or more lines, without indentation
}

// newFlagSet returns a flag set whose usage text is the subcommand's summary, example and flags.
func newFlagSet(sc subcommand, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("lienthong "+sc.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: lienthong %s [flags] %s\n\n%s\n\nExample:\n", sc.name, sc.args, sc.summary)
		for _, l := range strings.Split(sc.example, "\n") {
			fmt.Fprintf(stderr, "  %s\n", l)
		}
		fmt.Fprintln(stderr, "\nFlags:")
		fs.PrintDefaults()
	}
	return fs
}

// parseArgs parses flags placed before, between or after the positional arguments ("--"
// ends the flags) and returns the positional arguments. It returns code -1 when the caller
// should go on, else the exit code (0 for --help).
func parseArgs(fs *flag.FlagSet, args []string) ([]string, int) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, exitOK
			}
			return nil, exitUsage
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, -1
		}
		// fs.Parse stops at the first positional argument, or after "--".
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), -1
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// usageError prints a command-line mistake and the way to get help; it returns exitUsage.
func usageError(stderr io.Writer, name, format string, a ...any) int {
	fmt.Fprintf(stderr, "lienthong %s: %s\n(run `lienthong %s --help` for the flags and an example)\n", name, fmt.Sprintf(format, a...), name)
	return exitUsage
}

// clientFlags are the flags every subcommand that talks to a gateway shares.
type clientFlags struct {
	addr, token       string
	tlsCA, tlsCert    string
	tlsKey, tlsServer string
	timeout           time.Duration
	output            string
	outputs           []string // the formats this subcommand offers; the first is the default
}

// register adds the shared flags to fs; outputs are the -o formats the subcommand offers
// (none: no -o flag).
func (c *clientFlags) register(fs *flag.FlagSet, outputs ...string) {
	addr := os.Getenv("LIENTHONG_ADDR")
	if addr == "" {
		addr = DefaultClientAddr
	}
	fs.StringVar(&c.addr, "addr", addr, "the gateway's gRPC address host:port (env LIENTHONG_ADDR)")
	// The token's default is read after parsing, so that --help never prints it.
	fs.StringVar(&c.token, "token", "", "bearer token (default: env LIENTHONG_TOKEN; see `lienthong token create`)")
	fs.StringVar(&c.tlsCA, "tls-ca", "", "PEM file of the CA that signed the gateway's certificate; turns TLS on")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "PEM client certificate for mTLS (with --tls-key); turns TLS on")
	fs.StringVar(&c.tlsKey, "tls-key", "", "PEM private key of --tls-cert")
	fs.StringVar(&c.tlsServer, "tls-server-name", "", "the name to verify the gateway's certificate against (default: the host of --addr)")
	fs.DurationVar(&c.timeout, "timeout", 30*time.Second, "deadline of each call to the gateway")
	c.outputs = outputs
	if len(outputs) > 0 {
		fs.StringVar(&c.output, "o", outputs[0], "output format: "+strings.Join(outputs, "|"))
	}
}

// check validates the shared flags after parsing; it returns a message for a usage error.
func (c *clientFlags) check() string {
	if c.token == "" {
		c.token = os.Getenv("LIENTHONG_TOKEN")
	}
	if c.addr == "" {
		return "--addr is empty"
	}
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return "--tls-cert and --tls-key go together"
	}
	if c.timeout <= 0 {
		return "--timeout must be positive"
	}
	if len(c.outputs) > 0 {
		ok := false
		for _, o := range c.outputs {
			ok = ok || o == c.output
		}
		if !ok {
			return fmt.Sprintf("-o %q: use one of %s", c.output, strings.Join(c.outputs, ", "))
		}
	}
	return ""
}

// dial returns a client connection to the gateway. Connecting is lazy: a gateway that is
// down shows as an Unavailable error on the first call.
func (c *clientFlags) dial() (*grpc.ClientConn, error) {
	creds := insecure.NewCredentials()
	if c.tlsCA != "" || c.tlsCert != "" {
		tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.tlsServer}
		if c.tlsCA != "" {
			pem, err := os.ReadFile(c.tlsCA)
			if err != nil {
				return nil, fmt.Errorf("--tls-ca: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("--tls-ca %s holds no PEM certificate", c.tlsCA)
			}
			tc.RootCAs = pool
		}
		if c.tlsCert != "" {
			cert, err := tls.LoadX509KeyPair(c.tlsCert, c.tlsKey)
			if err != nil {
				return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		creds = credentials.NewTLS(tc)
	}
	conn, err := grpc.NewClient(c.addr,
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(clientRecvLimit)),
		grpc.WithUserAgent("lienthong-cli"))
	if err != nil {
		return nil, fmt.Errorf("--addr %q: %w", c.addr, err)
	}
	return conn, nil
}

// callContext returns the context of one call: the deadline and the bearer token.
func (c *clientFlags) callContext(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(parent, c.timeout)
	if c.token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+c.token)
	}
	return ctx, cancel
}

// rpcFailed prints a failed call in words: the status code, the gateway's message, every
// field violation, and what to do; it returns exitFail.
func (c *clientFlags) rpcFailed(stderr io.Writer, name string, err error) int {
	st := status.Convert(err)
	fmt.Fprintf(stderr, "lienthong %s: the gateway answered %s: %s\n", name, st.Code(), st.Message())
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.BadRequest:
			for _, fv := range d.GetFieldViolations() {
				fmt.Fprintf(stderr, "  field %q: %s\n", fv.GetField(), fv.GetDescription())
			}
		case *errdetails.RetryInfo:
			fmt.Fprintf(stderr, "  retry after %s\n", d.GetRetryDelay().AsDuration())
		}
	}
	if hint := c.hint(st); hint != "" {
		fmt.Fprintf(stderr, "hint: %s\n", hint)
	}
	return exitFail
}

// hint says what the operator can do about a status.
func (c *clientFlags) hint(st *status.Status) string {
	switch st.Code() {
	case codes.Unavailable:
		if strings.HasPrefix(st.Message(), "the gateway's store") {
			return "the gateway runs but its store is down; check its log and its store, then retry"
		}
		return fmt.Sprintf("is the gateway running at %s? start it with `lienthong serve`, or point --addr (or LIENTHONG_ADDR) at it", c.addr)
	case codes.DeadlineExceeded:
		return fmt.Sprintf("no answer within --timeout %s: is the gateway at %s overloaded or unreachable? retry with a longer --timeout", c.timeout, c.addr)
	case codes.Unauthenticated:
		if c.token == "" && c.tlsCert == "" {
			return "no token given: pass --token (or set LIENTHONG_TOKEN); create one with `lienthong token create`"
		}
		return "the gateway refused the token: create one with `lienthong token create` and add its credential line to the gateway's configuration"
	case codes.PermissionDenied:
		return "the token's principal may not do this: use a token of the right role (partner for qr and import, checkpoint for lookup, ministry for audit and keys rotate)"
	case codes.ResourceExhausted:
		return "the gateway is limiting this caller's rate or the request is too big; wait and retry"
	}
	return ""
}
