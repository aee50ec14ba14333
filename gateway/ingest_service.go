package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/lienthong/lienthong/adapters/bluezone"
	"github.com/lienthong/lienthong/adapters/ncovi"
	"github.com/lienthong/lienthong/adapters/tokhaiyte"
	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/errs"
	"github.com/lienthong/lienthong/canonical/identity"
	"github.com/lienthong/lienthong/canonical/qr"
	"github.com/lienthong/lienthong/gateway/auth"
	"github.com/lienthong/lienthong/gateway/ingest"
	"github.com/lienthong/lienthong/gateway/rpcstatus"
	"github.com/lienthong/lienthong/gateway/store"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// MaxNativeBytes is the largest native export one SubmitNativeRecords request may carry.
const MaxNativeBytes = 4 << 20

// MaxStream is the most declarations one StreamDeclarations call carries (its summary must
// fit a gRPC message).
const MaxStream = 50000

// ingestService lets partners push declarations, canonical or native.
type ingestService struct {
	lienthongv1.UnimplementedIngestServiceServer
	d Deps
	m *metrics
}

func (s *ingestService) SubmitDeclarations(ctx context.Context, req *lienthongv1.SubmitDeclarationsRequest) (*lienthongv1.SubmitDeclarationsResponse, error) {
	batch, err := s.canonicalBatch(ctx, req.GetDeclarations())
	if err != nil {
		return nil, rpcstatus.FromError(err)
	}
	results, err := s.d.Pipeline.Ingest(ctx, batch)
	if err != nil {
		return nil, rpcstatus.FromError(err)
	}
	items, a, dup, rej := itemResults(batch, results)
	return &lienthongv1.SubmitDeclarationsResponse{Results: items, AcceptedCount: a, DuplicateCount: dup, RejectedCount: rej}, nil
}

// streamAhead is the most batches a stream has received and prepared ahead of the store,
// and writes together when the store is slower than they arrive. Eight (1,000 declarations
// each) let the embedded store's commits take up to 32,000 declarations from four streams,
// and a bigger commit writes fewer pages a declaration (see defaultGroupItems in boltstore:
// at a million identities, 16,400-18,700 declarations/s against 15,200-15,400 with four
// ahead and commits of at most 20,000); a stream holds up to eight prepared batches in memory
// meanwhile.
const streamAhead = 8

// StreamDeclarations stores each message's batch in order and answers with a summary. The
// next batches are received and prepared while the ones before them are written, and the
// batches prepared by then are written together (the store's single writer then commits more
// at once, and finds them waiting instead of idling); a batch is still written only after the
// ones before it, and the first that fails ends the stream with nothing after it written.
func (s *ingestService) StreamDeclarations(stream lienthongv1.IngestService_StreamDeclarationsServer) error {
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	next := make(chan streamBatch, streamAhead-1)
	go s.receiveBatches(ctx, stream, next)
	resp := &lienthongv1.StreamDeclarationsResponse{}
	for b := range next {
		ready := []streamBatch{b}
		for len(ready) < streamAhead && ready[len(ready)-1].err == nil && len(next) > 0 {
			ready = append(ready, <-next)
		}
		var end error // what ends the stream after the batches ready
		if last := ready[len(ready)-1]; last.err != nil {
			end, ready = last.err, ready[:len(ready)-1]
		}
		prepared := make([]*ingest.Prepared, len(ready))
		for i, r := range ready {
			prepared[i] = r.prepared
		}
		stored, err := ingest.StoreInOrder(ctx, prepared)
		for i, results := range stored {
			items, a, dup, rej := itemResults(ready[i].batch, results)
			for _, it := range items {
				it.Index += int32(len(resp.Results))
				it.RecordId, it.SignedQr = "", "" // index identifies the item in a summary
			}
			resp.Results = append(resp.Results, items...)
			resp.AcceptedCount += a
			resp.DuplicateCount += dup
			resp.RejectedCount += rej
			resp.BatchCount++
		}
		switch {
		case err != nil:
			return rpcstatus.FromError(err)
		case errors.Is(end, io.EOF):
			return stream.SendAndClose(resp)
		case end != nil:
			return end
		}
	}
	// The stream ended (the caller went away) before receiveBatches could say so.
	return rpcstatus.FromError(ctx.Err())
}

// streamBatch is one message of a stream, prepared, or what ends the stream: io.EOF, or the
// error to answer with once the batches before it are stored.
type streamBatch struct {
	batch    []canonical.Declaration
	prepared *ingest.Prepared
	err      error
}

// receiveBatches receives and prepares a stream's batches into next, in order, until the
// stream ends or a message is refused (its error is the last batch sent), or ctx ends.
func (s *ingestService) receiveBatches(ctx context.Context, stream lienthongv1.IngestService_StreamDeclarationsServer, next chan<- streamBatch) {
	defer close(next)
	received := 0 // declarations in the batches before; all stored when the next is reached
	for {
		var b streamBatch
		msg, err := stream.Recv()
		switch {
		case err != nil:
			b.err = err
		case received+len(msg.GetDeclarations()) > MaxStream:
			b.err = rpcstatus.FromError(errs.Errorf(errs.Exhausted, "ingest.StreamDeclarations",
				"a stream carries at most %d declarations; %d were stored, open a new stream for the rest", MaxStream, received))
		default:
			if b.batch, err = s.canonicalBatch(ctx, msg.GetDeclarations()); err != nil {
				b.err = rpcstatus.FromError(err)
			} else {
				// The summary carries no signed QR (the contract keeps it small), so none is signed.
				b.prepared = s.d.Pipeline.PrepareBatch(ctx, b.batch)
				received += len(b.batch)
			}
		}
		select {
		case next <- b:
		case <-ctx.Done():
			return
		}
		if b.err != nil {
			return
		}
	}
}

func (s *ingestService) SubmitNativeRecords(ctx context.Context, req *lienthongv1.SubmitNativeRecordsRequest) (*lienthongv1.SubmitNativeRecordsResponse, error) {
	const op = "ingest.SubmitNativeRecords"
	p, _ := auth.FromContext(ctx)
	// The contract: a platform other than the caller's is PERMISSION_DENIED, whatever the
	// format says (checked before decoding, so the answer does not depend on the payload).
	if req.GetPlatform() != "" && canonical.Platform(req.GetPlatform()) != p.Platform {
		return nil, rpcstatus.FromError(errs.Errorf(errs.Permission, op, "partner %s may only submit %s records, not %s", p.ID, p.Platform, req.GetPlatform()))
	}
	if f, ok := nativeFormatPlatform[req.GetFormat()]; ok && f != p.Platform {
		return nil, rpcstatus.FromError(errs.Errorf(errs.Permission, op, "partner %s may only submit %s records, not %s", p.ID, p.Platform, f))
	}
	if len(req.GetPayload()) > MaxNativeBytes {
		return nil, rpcstatus.FromError(canonical.Violations{{Field: "payload", Reason: canonical.ReasonTooLong,
			Message: fmt.Sprintf("%d bytes; at most %d per request", len(req.GetPayload()), MaxNativeBytes)}})
	}
	platform, batch, err := decodeNative(req.GetFormat(), req.GetPayload())
	if err != nil {
		// Say which field is wrong with a stable reason, as every other refusal does.
		v := canonical.Violation{Field: "payload", Reason: canonical.ReasonMalformed, Message: err.Error()}
		if req.GetFormat() == lienthongv1.NativeFormat_NATIVE_FORMAT_UNSPECIFIED {
			v.Field, v.Reason = "format", canonical.ReasonRequired
		} else if _, known := nativeFormatPlatform[req.GetFormat()]; !known {
			v.Field = "format"
		}
		return nil, rpcstatus.FromError(errs.E(errs.Invalid, op, canonical.Violations{v}))
	}
	if platform != p.Platform {
		return nil, rpcstatus.FromError(errs.Errorf(errs.Permission, op, "partner %s may only submit %s records, not %s", p.ID, p.Platform, platform))
	}
	if len(batch) > MaxBatch {
		// The contract's limit, as for SubmitDeclarations (it was 50,000 here).
		return nil, rpcstatus.FromError(canonical.Violations{{Field: "payload", Reason: canonical.ReasonTooLong,
			Message: fmt.Sprintf("%d records; at most %d per request", len(batch), MaxBatch)}})
	}
	results, err := s.d.Pipeline.Ingest(ctx, batch)
	if err != nil {
		return nil, rpcstatus.FromError(err)
	}
	items, a, dup, rej := itemResults(batch, results)
	return &lienthongv1.SubmitNativeRecordsResponse{Results: items, AcceptedCount: a, DuplicateCount: dup, RejectedCount: rej}, nil
}

// nativeFormatPlatform is the platform whose export each native format is.
var nativeFormatPlatform = map[lienthongv1.NativeFormat]canonical.Platform{
	lienthongv1.NativeFormat_NATIVE_FORMAT_TOKHAIYTE_CSV:       canonical.PlatformTokhaiyte,
	lienthongv1.NativeFormat_NATIVE_FORMAT_NCOVI_JSON_PAGE:     canonical.PlatformNCOVI,
	lienthongv1.NativeFormat_NATIVE_FORMAT_BLUEZONE_BATCH_JSON: canonical.PlatformBluezone,
}

// decodeNative decodes a native export with its platform's adapter.
func decodeNative(format lienthongv1.NativeFormat, payload []byte) (canonical.Platform, []canonical.Declaration, error) {
	switch format {
	case lienthongv1.NativeFormat_NATIVE_FORMAT_TOKHAIYTE_CSV:
		decls, err := tokhaiyte.DecodeCSV(bytes.NewReader(payload))
		return canonical.PlatformTokhaiyte, decls, err
	case lienthongv1.NativeFormat_NATIVE_FORMAT_NCOVI_JSON_PAGE:
		decls, _, _, err := ncovi.DecodePage(payload)
		return canonical.PlatformNCOVI, decls, err
	case lienthongv1.NativeFormat_NATIVE_FORMAT_BLUEZONE_BATCH_JSON:
		_, decls, err := bluezone.DecodeBatch(payload)
		return canonical.PlatformBluezone, decls, err
	}
	return "", nil, fmt.Errorf("format: unspecified or unknown native format %d", format)
}

// canonicalBatch maps a request's declarations and checks that the partner submits only for
// its own platform (a declaration without a platform is the partner's).
func (s *ingestService) canonicalBatch(ctx context.Context, in []*lienthongv1.Declaration) ([]canonical.Declaration, error) {
	const op = "ingest"
	p, _ := auth.FromContext(ctx)
	if len(in) == 0 {
		return nil, canonical.Violations{{Field: "declarations", Reason: canonical.ReasonRequired, Message: "the batch is empty"}}
	}
	if len(in) > MaxBatch {
		return nil, canonical.Violations{{Field: "declarations", Reason: canonical.ReasonTooLong, Message: fmt.Sprintf("%d declarations; at most %d per batch", len(in), MaxBatch)}}
	}
	batch := make([]canonical.Declaration, len(in))
	for i, m := range in {
		d := declarationFromPB(m)
		if d.Source.Platform == "" {
			d.Source.Platform = p.Platform
		}
		if d.Source.Platform != p.Platform {
			return nil, errs.Errorf(errs.Permission, op, "declaration %d: partner %s may only submit for platform %s, not %s", i, p.ID, p.Platform, d.Source.Platform)
		}
		batch[i] = d
	}
	return batch, nil
}

func (s *ingestService) GetSignedQR(ctx context.Context, req *lienthongv1.GetSignedQRRequest) (*lienthongv1.GetSignedQRResponse, error) {
	const op = "ingest.GetSignedQR"
	p, _ := auth.FromContext(ctx)
	qrid, err := s.signedQRSubject(ctx, p.Platform, req)
	if err != nil {
		return nil, rpcstatus.FromError(err)
	}
	v, err := s.d.Store.View(ctx, qrid)
	if err != nil {
		return nil, rpcstatus.FromError(err)
	}
	known := false
	for _, pl := range v.Platforms() {
		known = known || pl == p.Platform
	}
	if !known {
		// Same answer as for an unknown person: a partner learns nothing about people it
		// does not know.
		return nil, rpcstatus.FromError(errs.Errorf(errs.NotFound, op, "no person with this QR id declared on %s", p.Platform))
	}
	signed, err := s.d.Keys.Issue(v.QRID)
	if err != nil {
		return nil, rpcstatus.FromError(err)
	}
	tok, err := qr.Verify(signed, s.d.Keys, s.d.Now())
	if err != nil {
		return nil, rpcstatus.FromError(err)
	}
	return &lienthongv1.GetSignedQRResponse{
		QrId: v.QRID, SignedQr: signed, KeyId: tok.KeyID,
		IssuedAt: timeToPB(tok.IssuedAt), ExpiresAt: timeToPB(tok.ExpiresAt),
	}, nil
}

// signedQRSubject returns the QR id GetSignedQR names: the qr_id itself, or the identity the
// caller's own platform's record_id or subject_id is filed under (a record or subject of
// another platform is never looked up: it answers NotFound like an unknown one).
func (s *ingestService) signedQRSubject(ctx context.Context, platform canonical.Platform, req *lienthongv1.GetSignedQRRequest) (string, error) {
	var field, id string
	ref := store.SourceRef{Platform: platform}
	switch by := req.GetPerson().(type) {
	case *lienthongv1.GetSignedQRRequest_QrId:
		if by.QrId == "" {
			return "", canonical.Violations{{Field: "qr_id", Reason: canonical.ReasonRequired, Message: "empty"}}
		}
		if !identity.LooksLikeQRID(by.QrId) {
			return "", canonical.Violations{{Field: "qr_id", Reason: canonical.ReasonMalformed, Message: "not a QR id"}}
		}
		return by.QrId, nil
	case *lienthongv1.GetSignedQRRequest_RecordId:
		field, id, ref.RecordID = "record_id", by.RecordId, by.RecordId
	case *lienthongv1.GetSignedQRRequest_SubjectId:
		field, id, ref.SubjectID = "subject_id", by.SubjectId, by.SubjectId
	default:
		return "", canonical.Violations{{Field: "person", Reason: canonical.ReasonRequired,
			Message: "name the person by one of qr_id, record_id (one of their declarations on your platform) or subject_id (their account on your platform)"}}
	}
	if id == "" {
		return "", canonical.Violations{{Field: field, Reason: canonical.ReasonRequired, Message: "empty"}}
	}
	if n := utf8.RuneCountInString(id); n > canonical.MaxTextRunes {
		return "", canonical.Violations{{Field: field, Reason: canonical.ReasonTooLong,
			Message: fmt.Sprintf("%d characters; at most %d", n, canonical.MaxTextRunes)}}
	}
	return s.d.Store.IdentityOf(ctx, ref)
}
