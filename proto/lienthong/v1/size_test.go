package lienthongv1_test

import (
	"fmt"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// defaultRecvLimit is grpc-go's default maximum size of a received message.
const defaultRecvLimit = 4 << 20

// TestLargestAnswersFitTheDefaultReceiveLimit: a partner or auditor with an out-of-the-box gRPC
// client must be able to receive the largest answers the contract promises. The items are
// realistic worst cases: 24-character QR ids, long record ids, and a rejection rate well above
// the 1.3% of the source document, each rejection with two violations.
func TestLargestAnswersFitTheDefaultReceiveLimit(t *testing.T) {
	tests := []struct {
		name string
		msg  proto.Message
	}{
		// The stream summary promises to fit for the longest stream (50,000 declarations); it
		// leaves record_id and signed_qr out, so only fixed-size fields grow with the stream.
		{"stream summary of 50,000 declarations", streamSummary(50_000, 0.05)},
		// A batch answer carries record ids and signed QRs (~150 characters) for its at most
		// 1,000 items.
		{"batch answer of 1,000 declarations", batchAnswer(1_000, 0.05)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			size := proto.Size(tt.msg)
			t.Logf("%d bytes (%.0f%% of the limit)", size, 100*float64(size)/defaultRecvLimit)
			if size > defaultRecvLimit {
				t.Errorf("%d bytes: over the default receive limit of %d", size, defaultRecvLimit)
			}
		})
	}
}

// rejectedEvery turns a rejection rate into "every n-th item is rejected".
func rejectedEvery(rate float64) int { return int(1 / rate) }

func streamSummary(n int, rejectionRate float64) *lienthongv1.StreamDeclarationsResponse {
	resp := &lienthongv1.StreamDeclarationsResponse{BatchCount: int32(n / 1000)}
	every := rejectedEvery(rejectionRate)
	for i := range n {
		r := &lienthongv1.ItemResult{Index: int32(i)}
		if i%every == 0 {
			r.Outcome = lienthongv1.Outcome_OUTCOME_REJECTED
			r.Violations = twoViolations()
			resp.RejectedCount++
		} else {
			r.Outcome = lienthongv1.Outcome_OUTCOME_ACCEPTED
			r.QrId = qrID(i)
			resp.AcceptedCount++
		}
		resp.Results = append(resp.Results, r)
	}
	return resp
}

func batchAnswer(n int, rejectionRate float64) *lienthongv1.SubmitDeclarationsResponse {
	resp := &lienthongv1.SubmitDeclarationsResponse{}
	every := rejectedEvery(rejectionRate)
	for i := range n {
		r := &lienthongv1.ItemResult{Index: int32(i), RecordId: fmt.Sprintf("0f8fad5b-d9cb-469f-a165-%012d", i)}
		if i%every == 0 {
			r.Outcome = lienthongv1.Outcome_OUTCOME_REJECTED
			r.Violations = twoViolations()
			resp.RejectedCount++
		} else {
			r.Outcome = lienthongv1.Outcome_OUTCOME_ACCEPTED
			r.QrId = qrID(i)
			r.SignedQr = "LT1." + strings.Repeat("A", 146)
			resp.AcceptedCount++
		}
		resp.Results = append(resp.Results, r)
	}
	return resp
}

func qrID(i int) string { return fmt.Sprintf("%024d", i) }

func twoViolations() []*lienthongv1.Violation {
	return []*lienthongv1.Violation{
		{Field: "person.document.number", Reason: "cccd_birth_year", Message: "the CCCD's year digits contradict the declared birth year"},
		{Field: "person.phone", Reason: "invalid_phone", Message: "not a Vietnamese mobile or landline number, nor a valid E.164 number"},
	}
}
