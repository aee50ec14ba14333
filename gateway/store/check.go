package store

import (
	"fmt"
	"strings"
)

// MaxKeyLen bounds the platform, record id and version of a record together, and a QR id:
// stores use them in keys (bbolt's keys are at most 32 KiB). Validation should reject longer
// source ids as too long before they reach a store.
const MaxKeyLen = 1024

// Check reports what makes an item unstorable, naming the field: it must hold exactly one of
// Accepted and Rejected, an accepted item a QR id, no QR id a NUL byte (stores use it as a
// separator), and neither the record key nor a QR id may be longer than MaxKeyLen. Such an item is a gateway bug, not a partner's bad record: stores refuse the
// whole batch with an errs.Invalid error rather than store half of it.
func (it Item) Check() error {
	if (it.Accepted == nil) == (it.Rejected == nil) {
		return fmt.Errorf("exactly one of accepted and rejected must be set")
	}
	if k := it.Key(); len(k.Platform)+len(k.RecordID)+len(k.Version) > MaxKeyLen {
		return fmt.Errorf("source: platform, record id and version longer than %d bytes", MaxKeyLen)
	}
	if it.Accepted == nil {
		return nil
	}
	if it.Accepted.QRID == "" {
		return fmt.Errorf("accepted.qrid: required")
	}
	if err := checkQRID(it.Accepted.QRID); err != nil {
		return fmt.Errorf("accepted.qrid: %w", err)
	}
	for i, a := range it.Accepted.Aliases {
		if err := checkQRID(a); err != nil {
			return fmt.Errorf("accepted.aliases[%d]: %w", i, err)
		}
	}
	return nil
}

func checkQRID(q string) error {
	if strings.IndexByte(q, 0) >= 0 {
		return fmt.Errorf("contains a NUL byte")
	}
	if len(q) > MaxKeyLen {
		return fmt.Errorf("longer than %d bytes", MaxKeyLen)
	}
	return nil
}
