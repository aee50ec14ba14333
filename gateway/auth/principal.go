// Package auth turns a caller's bearer token or client certificate into a principal, decides
// what each principal may call, and limits each principal's rate.
package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/errs"
)

// Role is what kind of caller a principal is.
type Role string

// The roles of architecture.md "Who may do what".
const (
	RolePartner    Role = "partner"    // a platform pushing declarations for itself
	RoleCheckpoint Role = "checkpoint" // a station looking people up and recording passages
	RoleMinistry   Role = "ministry"   // an auditor: every area, every platform
)

// Area is an administrative area: a province, optionally narrowed to a district and commune.
type Area struct {
	Province string `json:"province,omitempty"` // GSO code (2021 set)
	District string `json:"district,omitempty"`
	Commune  string `json:"commune,omitempty"`
}

// Principal is an authenticated caller.
type Principal struct {
	ID       string             `json:"id"`
	Role     Role               `json:"role"`
	Platform canonical.Platform `json:"platform,omitempty"` // partner only
	Station  string             `json:"station,omitempty"`  // checkpoint only
	Area     Area               `json:"area,omitempty"`     // checkpoint only
}

// Validate checks that the principal's fields fit its role.
func (p Principal) Validate() error {
	const op = "auth.Principal"
	if p.ID == "" {
		return errs.Errorf(errs.Invalid, op, "principal without id")
	}
	switch p.Role {
	case RolePartner:
		if p.Platform == "" {
			return errs.Errorf(errs.Invalid, op, "partner %q: platform is required", p.ID)
		}
	case RoleCheckpoint:
		if p.Station == "" || p.Area.Province == "" {
			return errs.Errorf(errs.Invalid, op, "checkpoint %q: station and area.province are required", p.ID)
		}
	case RoleMinistry:
	default:
		return errs.Errorf(errs.Invalid, op, "principal %q: role must be partner, checkpoint or ministry, not %q", p.ID, p.Role)
	}
	return nil
}

// Credential binds a principal to the SHA-256 of its bearer token, or to the common name of
// its client certificate. Only hashes are ever configured.
type Credential struct {
	Principal
	TokenSHA256 string `json:"token_sha256,omitempty"` // lower-case hex
	CertCN      string `json:"cert_cn,omitempty"`      // client certificate subject common name
}

// HashToken returns the lower-case hex SHA-256 of a bearer token, as configured.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// hashed is a principal with the token hash it was configured with.
type hashed struct {
	Principal
	sum [32]byte
}

// Authenticator maps credentials to principals.
type Authenticator struct {
	byHash map[[32]byte]*hashed
	byCN   map[string]*Principal
}

// NewAuthenticator validates the credentials and indexes them.
func NewAuthenticator(creds []Credential) (*Authenticator, error) {
	const op = "auth.NewAuthenticator"
	a := &Authenticator{byHash: map[[32]byte]*hashed{}, byCN: map[string]*Principal{}}
	for i, c := range creds {
		if err := c.Principal.Validate(); err != nil {
			return nil, errs.E(errs.Invalid, op, fmt.Errorf("credential %d: %w", i, err))
		}
		if c.TokenSHA256 == "" && c.CertCN == "" {
			return nil, errs.Errorf(errs.Invalid, op, "credential %d (%s): token_sha256 or cert_cn is required", i, c.ID)
		}
		if c.TokenSHA256 != "" {
			raw, err := hex.DecodeString(strings.ToLower(c.TokenSHA256))
			if err != nil || len(raw) != 32 {
				return nil, errs.Errorf(errs.Invalid, op, "credential %d (%s): token_sha256 must be 64 hex digits", i, c.ID)
			}
			var h [32]byte
			copy(h[:], raw)
			a.byHash[h] = &hashed{Principal: c.Principal, sum: h}
		}
		if c.CertCN != "" {
			p := c.Principal
			a.byCN[c.CertCN] = &p
		}
	}
	return a, nil
}

// ByToken returns the principal of a bearer token. Only the token's SHA-256 is looked up (the
// timing of a lookup by hash tells an attacker nothing about any configured token), and the
// configured hash is then compared in constant time.
func (a *Authenticator) ByToken(token string) (Principal, bool) {
	return found(a.byToken(token))
}

// ByCertificate returns the principal of a verified client certificate's common name.
func (a *Authenticator) ByCertificate(cn string) (Principal, bool) {
	return found(a.byCN[cn])
}

// byToken is ByToken returning the authenticator's own copy (nil when unknown), which calls
// share: the principal is never changed after NewAuthenticator.
func (a *Authenticator) byToken(token string) *Principal {
	if token == "" {
		return nil
	}
	sum := sha256.Sum256([]byte(token))
	h, ok := a.byHash[sum]
	if !ok || subtle.ConstantTimeCompare(sum[:], h.sum[:]) != 1 {
		return nil
	}
	return &h.Principal
}

func found(p *Principal) (Principal, bool) {
	if p == nil {
		return Principal{}, false
	}
	return *p, true
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return withPrincipal(ctx, &p)
}

// withPrincipal carries a principal no one changes (the authenticator's), without a copy.
func withPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal the interceptor authenticated.
func FromContext(ctx context.Context) (Principal, bool) {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return found(p)
}
