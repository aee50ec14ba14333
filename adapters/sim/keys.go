package sim

import (
	"strings"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/identity"
)

// identityKeys returns the identity key of a normalized person and the weaker keys that must
// resolve to it, as strings ("cccd:079090001234", "weak:+84912345678|nguyen van an|1990"),
// by canonical/identity's rules, so the expected grouping follows the gateway's.
func identityKeys(p canonical.Person) (key string, aliases []string, ok bool) {
	k, ok := identity.KeyOf(p)
	if !ok {
		return "", nil, false
	}
	for _, a := range identity.AliasKeys(p) {
		aliases = append(aliases, a.String())
	}
	return k.String(), aliases, true
}

// isWeak reports whether an identity key is a weak (unverified) one.
func isWeak(key string) bool { return len(key) > 5 && key[:5] == "weak:" }

// KeyFromString reads an identity key as the ground truth writes it ("cccd:079090001234",
// "passport:KR:M12345678", "weak:+84912345678|nguyen van an|1990"), so that a test or the demo
// can derive its QR id with identity.Deriver.QRID.
func KeyFromString(s string) (identity.Key, bool) {
	kind, value, ok := strings.Cut(s, ":")
	if !ok || value == "" {
		return identity.Key{}, false
	}
	for _, k := range []identity.KeyKind{identity.KindCCCD, identity.KindCMND, identity.KindPassport, identity.KindWeak} {
		if k.String() == kind {
			return identity.Key{Kind: k, Value: value}, true
		}
	}
	return identity.Key{}, false
}
