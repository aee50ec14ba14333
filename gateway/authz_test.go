package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/lienthong/lienthong/gateway"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// rpcsOf lists every RPC of the contract's services as full method names, from the service
// descriptors themselves: a new RPC appears here without anyone listing it.
func rpcsOf(t *testing.T) map[string]protoreflect.MethodDescriptor {
	t.Helper()
	out := map[string]protoreflect.MethodDescriptor{}
	for _, f := range []protoreflect.FileDescriptor{
		lienthongv1.File_lienthong_v1_ingest_service_proto,
		lienthongv1.File_lienthong_v1_checkpoint_service_proto,
		lienthongv1.File_lienthong_v1_audit_service_proto,
		lienthongv1.File_lienthong_v1_keys_service_proto,
	} {
		for i := 0; i < f.Services().Len(); i++ {
			s := f.Services().Get(i)
			for j := 0; j < s.Methods().Len(); j++ {
				m := s.Methods().Get(j)
				out[fmt.Sprintf("/%s/%s", s.FullName(), m.Name())] = m
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("no RPCs found in the descriptors")
	}
	return out
}

// whoMayCall is the authorization the contract promises (architecture.md "Who may do what"),
// written out independently of gateway.Policy so that a policy change is a visible test change.
var whoMayCall = map[string][]string{
	"/lienthong.v1.IngestService/SubmitDeclarations":  {"partner"},
	"/lienthong.v1.IngestService/SubmitNativeRecords": {"partner"},
	"/lienthong.v1.IngestService/StreamDeclarations":  {"partner"},
	"/lienthong.v1.IngestService/GetSignedQR":         {"partner"},
	"/lienthong.v1.CheckpointService/Lookup":          {"checkpoint"},
	"/lienthong.v1.CheckpointService/RecordPassage":   {"checkpoint"},
	"/lienthong.v1.AuditService/GetStatistics":        {"checkpoint", "ministry"},
	"/lienthong.v1.AuditService/ListInconsistencies":  {"ministry"},
	"/lienthong.v1.AuditService/GetHistory":           {"ministry"},
	"/lienthong.v1.AuditService/ListAccessLog":        {"ministry"},
	"/lienthong.v1.AuditService/ListRejections":       {"ministry"},
	"/lienthong.v1.KeysService/ListKeys":              {"public"},
	"/lienthong.v1.KeysService/RotateKey":             {"ministry"},
}

// TestPolicyCoversEveryRPC fails when an RPC of the contract has no policy (it would be
// refused to everyone) or the policy names an RPC the contract does not have.
func TestPolicyCoversEveryRPC(t *testing.T) {
	p := gateway.Policy()
	rpcs := rpcsOf(t)
	for m := range rpcs {
		if len(p.Roles[m]) == 0 && !p.Public[m] {
			t.Errorf("%s has no policy: nobody can call it", m)
		}
		if _, ok := whoMayCall[m]; !ok {
			t.Errorf("%s is missing from this test's whoMayCall table", m)
		}
	}
	for m := range p.Roles {
		if _, ok := rpcs[m]; !ok {
			t.Errorf("policy names %s, which the contract does not have", m)
		}
	}
}

// TestAuthorizationMatrix calls every RPC as every kind of caller with an empty request and
// checks the guard's answer: Unauthenticated without a valid token, PermissionDenied for a
// role the RPC is not for, and for an allowed role anything but an auth error (an empty
// request is often InvalidArgument, which is the service speaking, not the guard).
func TestAuthorizationMatrix(t *testing.T) {
	h := newHarness(t)
	callers := []struct {
		name, token, role string
	}{
		{"no token", "", ""},
		{"bad token", tokBad, ""},
		{"partner", tokTokhaiyte, "partner"},
		{"checkpoint", tokCheckpoint, "checkpoint"},
		{"ministry", tokMinistry, "ministry"},
	}
	rpcs := rpcsOf(t)
	methods := make([]string, 0, len(rpcs))
	for m := range rpcs {
		methods = append(methods, m)
	}
	slices.Sort(methods)
	cases := 0
	for _, c := range callers {
		cc := h.conn(c.token)
		for _, m := range methods {
			md := rpcs[m]
			allowed := whoMayCall[m]
			public := slices.Contains(allowed, "public")
			t.Run(c.name+m, func(t *testing.T) {
				cases++
				err := invokeEmpty(t, cc, m, md)
				code := status.Code(err)
				switch {
				case public:
					if code != codes.OK {
						t.Fatalf("public RPC answered %v: %v", code, err)
					}
				case c.role == "":
					if code != codes.Unauthenticated {
						t.Fatalf("got %v (%v), want Unauthenticated", code, err)
					}
				case !slices.Contains(allowed, c.role):
					if code != codes.PermissionDenied {
						t.Fatalf("got %v (%v), want PermissionDenied", code, err)
					}
				default:
					// Allowed: the service answered, and not with an auth error.
					if code == codes.Unauthenticated || code == codes.PermissionDenied || code == codes.Unimplemented || code == codes.Internal {
						t.Fatalf("allowed caller got %v: %v", code, err)
					}
				}
			})
		}
	}
	t.Logf("authorization matrix: %d RPCs x %d callers = %d cases", len(methods), len(callers), cases)
}

// invokeEmpty calls method with an empty request of its input type, unary or streaming.
func invokeEmpty(t *testing.T, cc *grpc.ClientConn, method string, md protoreflect.MethodDescriptor) error {
	t.Helper()
	in, err := protoregistry.GlobalTypes.FindMessageByName(md.Input().FullName())
	if err != nil {
		t.Fatal(err)
	}
	out, err := protoregistry.GlobalTypes.FindMessageByName(md.Output().FullName())
	if err != nil {
		t.Fatal(err)
	}
	c := ctx(t)
	if !md.IsStreamingClient() && !md.IsStreamingServer() {
		return cc.Invoke(c, method, in.New().Interface(), out.New().Interface())
	}
	c, cancel := context.WithCancel(c)
	defer cancel()
	st, err := cc.NewStream(c, &grpc.StreamDesc{ClientStreams: md.IsStreamingClient(), ServerStreams: md.IsStreamingServer()}, method)
	if err != nil {
		return err
	}
	if !md.IsStreamingClient() {
		if err := st.SendMsg(in.New().Interface()); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
	}
	if err := st.CloseSend(); err != nil {
		return err
	}
	err = st.RecvMsg(out.New().Interface())
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}
