package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/gateway/auth"
	"github.com/lienthong/lienthong/gateway/config"
)

// Test tokens, one per principal the client tests use.
const (
	tokTokhaiyte  = "test-token-partner-tokhaiyte"
	tokBluezone   = "test-token-partner-bluezone"
	tokNCOVI      = "test-token-partner-ncovi"
	tokCheckpoint = "test-token-checkpoint-79"
	tokMinistry   = "test-token-ministry"
)

func testCredentials() []auth.Credential {
	cred := func(tok string, p auth.Principal) auth.Credential {
		return auth.Credential{Principal: p, TokenSHA256: auth.HashToken(tok)}
	}
	return []auth.Credential{
		cred(tokTokhaiyte, auth.Principal{ID: "tokhaiyte-test", Role: auth.RolePartner, Platform: canonical.PlatformTokhaiyte}),
		cred(tokBluezone, auth.Principal{ID: "bluezone-test", Role: auth.RolePartner, Platform: canonical.PlatformBluezone}),
		cred(tokNCOVI, auth.Principal{ID: "ncovi-test", Role: auth.RolePartner, Platform: canonical.PlatformNCOVI}),
		cred(tokCheckpoint, auth.Principal{ID: "tram-test", Role: auth.RoleCheckpoint, Station: "ST-79-01", Area: auth.Area{Province: "79"}}),
		cred(tokMinistry, auth.Principal{ID: "auditor-test", Role: auth.RoleMinistry}),
	}
}

// startTestGateway starts a real gateway (embedded store in a temp folder, real gRPC
// listener) with creds and returns its gRPC address; it is shut down when the test ends.
// adjust, if any, changes the configuration before the start.
func startTestGateway(t testing.TB, creds []auth.Credential, adjust ...func(*config.Config)) string {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.GRPCAddr, cfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.RetentionDays = 0
	cfg.Credentials = creds
	// Generous limits: the tests are not about rate limiting.
	for role := range cfg.Limits {
		cfg.Limits[role] = config.Limit{Rate: 10000, Burst: 10000}
	}
	for _, f := range adjust {
		f(&cfg)
	}
	gw, err := startGateway(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("startGateway: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := gw.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return gw.GRPCAddr
}

// run calls dispatch as main does and returns the exit code and both outputs.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := dispatch(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// mustRun runs args and fails the test unless the exit code is want.
func mustRun(t *testing.T, want int, args ...string) (string, string) {
	t.Helper()
	code, out, errOut := run(t, args...)
	if code != want {
		t.Fatalf("lienthong %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, out, errOut)
	}
	return out, errOut
}

// closedAddr returns an address on which nothing listens.
func closedAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// tokhaiyteHeader is the export's header row.
const tokhaiyteHeader = "Mã tờ khai,Khai hộ,Họ tên,Năm sinh,Giới tính,Quốc tịch,Số hộ chiếu/CMND/CCCD,Tỉnh/thành,Quận/huyện,Phường/xã,Số nhà/phố,Điện thoại,Email,Đi qua tỉnh/thành phố/quốc gia trong 14 ngày,Có triệu chứng,Ghi chú triệu chứng,Tiếp xúc người bệnh hoặc nghi ngờ,Tiếp xúc người từ nước có bệnh,Tiếp xúc người có biểu hiện,Thời gian khai báo"

// tokhaiyteRow is one well-formed row declared at `at`.
func tokhaiyteRow(id, name string, year int, gender, doc, phone, symptoms string, at time.Time) string {
	return fmt.Sprintf("%s,0,%s,%d,%s,Việt Nam,%s,Thành phố Hồ Chí Minh,Quận 1,Phường Bến Nghé,12 Lê Lợi,%s,,,%s,,2,2,2,%s",
		id, name, year, gender, doc, phone, symptoms, at.In(canonical.VietnamZone).Format("02/01/2006 15:04:05"))
}
