package store

import (
	"fmt"
	"strings"
)

// Check reports what makes an item unstorable, naming the field: it must hold exactly one of
// Accepted and Rejected, an accepted item a QR id, and no QR id a NUL byte (stores use it as
// a separator). Such an item is a gateway bug, not a partner's bad record: stores refuse the
// whole batch with an errs.Invalid error rather than store half of it.
func (it Item) Check() error {
	if (it.Accepted == nil) == (it.Rejected == nil) {
		return fmt.Errorf("exactly one of accepted and rejected must be set")
	}
	if it.Accepted == nil {
		return nil
	}
	if it.Accepted.QRID == "" {
		return fmt.Errorf("accepted.qrid: required")
	}
	if strings.IndexByte(it.Accepted.QRID, 0) >= 0 {
		return fmt.Errorf("accepted.qrid: contains a NUL byte")
	}
	for i, a := range it.Accepted.Aliases {
		if strings.IndexByte(a, 0) >= 0 {
			return fmt.Errorf("accepted.aliases[%d]: contains a NUL byte", i)
		}
	}
	return nil
}
