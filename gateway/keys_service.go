package gateway

import (
	"context"
	"strings"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/gateway/auth"
	"github.com/lienthong/lienthong/gateway/rpcstatus"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// keysService publishes the QR verification keys and rotates the signing key.
type keysService struct {
	lienthongv1.UnimplementedKeysServiceServer
	d Deps
}

func (s *keysService) ListKeys(ctx context.Context, _ *lienthongv1.ListKeysRequest) (*lienthongv1.ListKeysResponse, error) {
	return &lienthongv1.ListKeysResponse{Keys: publicKeysToPB(s.d.Keys)}, nil
}

func (s *keysService) RotateKey(ctx context.Context, req *lienthongv1.RotateKeyRequest) (*lienthongv1.RotateKeyResponse, error) {
	p, _ := auth.FromContext(ctx)
	reason := strings.TrimSpace(req.GetReason())
	if len(reason) > 500 {
		return nil, rpcstatus.FromError(canonical.Violations{{Field: "reason", Reason: canonical.ReasonTooLong, Message: "at most 500 characters"}})
	}
	k, err := s.d.Keys.Rotate()
	if err != nil {
		return nil, rpcstatus.FromError(err)
	}
	s.d.Logger.Warn("signing key rotated", "key_id", k.ID, "principal", p.ID, "reason", reason)
	all := publicKeysToPB(s.d.Keys)
	resp := &lienthongv1.RotateKeyResponse{Keys: all}
	// Found by id, not by position: keys created at the same instant sort in any order.
	for _, pk := range all {
		if pk.GetKeyId() == k.ID {
			resp.Key = pk
		}
	}
	return resp, nil
}
