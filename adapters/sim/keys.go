package sim

import (
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
