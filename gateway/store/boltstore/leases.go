package boltstore

import (
	"context"
	"encoding/json"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/lienthong/lienthong/canonical/errs"
	"github.com/lienthong/lienthong/gateway/store"
)

// leaseRecord is a lease as stored; a released lease keeps its token (Holder "") so that the
// next holder's token is greater.
type leaseRecord struct {
	Holder  string
	Token   uint64
	Expires time.Time
}

// Cursor returns partner's stored cursor, "" when none.
func (s *Store) Cursor(ctx context.Context, partner string) (string, error) {
	var c string
	err := s.read(ctx, "boltstore.Cursor", func(tx *bolt.Tx) error {
		c = string(tx.Bucket(bucketCursors).Get([]byte(partner)))
		return nil
	})
	return c, err
}

// SaveCursor stores partner's cursor if fence is the current token of the lease named partner.
func (s *Store) SaveCursor(ctx context.Context, partner, cursor string, fence uint64) error {
	const op = "boltstore.SaveCursor"
	return s.update(ctx, op, func(tx *bolt.Tx) error {
		l, ok, err := getLease(tx, partner)
		if err != nil {
			return err
		}
		if !ok || l.Token != fence {
			return errs.Errorf(errs.Conflict, op, "fence %d is not the current token of lease %q", fence, partner)
		}
		return tx.Bucket(bucketCursors).Put([]byte(partner), []byte(cursor))
	})
}

// AcquireLease takes the lease when it is free, expired or already holder's (a renewal keeps
// the token); otherwise it returns the current holder's lease and false.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (store.Lease, bool, error) {
	const op = "boltstore.AcquireLease"
	if holder == "" || ttl <= 0 {
		return store.Lease{}, false, errs.Errorf(errs.Invalid, op, "holder and a positive ttl are required")
	}
	var out store.Lease
	var got bool
	err := s.update(ctx, op, func(tx *bolt.Tx) error {
		out, got = store.Lease{}, false
		now := s.now()
		l, _, err := getLease(tx, name)
		if err != nil {
			return err
		}
		switch {
		case l.Holder == holder:
		case l.Holder == "" || !now.Before(l.Expires):
			l.Holder = holder
			l.Token++
		default:
			out = store.Lease{Name: name, Holder: l.Holder, Token: l.Token, Expires: l.Expires}
			return nil
		}
		l.Expires = now.Add(ttl)
		got = true
		out = store.Lease{Name: name, Holder: l.Holder, Token: l.Token, Expires: l.Expires}
		return putLease(tx, name, l)
	})
	return out, got, err
}

// ReleaseLease frees the lease if holder has it.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	return s.update(ctx, "boltstore.ReleaseLease", func(tx *bolt.Tx) error {
		l, ok, err := getLease(tx, name)
		if err != nil || !ok || l.Holder != holder {
			return err
		}
		l.Holder, l.Expires = "", time.Time{}
		return putLease(tx, name, l)
	})
}

func getLease(tx *bolt.Tx, name string) (leaseRecord, bool, error) {
	var l leaseRecord
	b := tx.Bucket(bucketLeases).Get([]byte(name))
	if b == nil {
		return l, false, nil
	}
	return l, true, json.Unmarshal(b, &l)
}

func putLease(tx *bolt.Tx, name string, l leaseRecord) error {
	b, err := json.Marshal(l)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketLeases).Put([]byte(name), b)
}
