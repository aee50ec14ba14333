package sim

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"

	"github.com/lienthong/lienthong/canonical/errs"
)

// ReadGroundTruth reads what WriteGroundTruth wrote (for a test that runs the partnersim
// binary and compares a gateway with the file): the ground truth and the demo QRs, whose Key
// is filled in from IdentityKey.
func ReadGroundTruth(r io.Reader) (*GroundTruth, []DemoQR, error) {
	const op = "sim.ReadGroundTruth"
	gt := &GroundTruth{}
	var demo []DemoQR
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	line, summaries := 0, 0
	for sc.Scan() {
		line++
		var head struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(sc.Bytes(), &head); err != nil {
			return nil, nil, errs.E(errs.Invalid, op, fmt.Errorf("line %d: %w", line, err))
		}
		var err error
		switch head.Type {
		case "record":
			var v TruthRecord
			err = json.Unmarshal(sc.Bytes(), &v)
			gt.Records = append(gt.Records, v)
		case "delivery":
			var v TruthDelivery
			err = json.Unmarshal(sc.Bytes(), &v)
			gt.Deliveries = append(gt.Deliveries, v)
		case "identity":
			var v TruthIdentity
			err = json.Unmarshal(sc.Bytes(), &v)
			gt.Identities = append(gt.Identities, v)
		case "person":
			var v TruthPerson
			err = json.Unmarshal(sc.Bytes(), &v)
			gt.People = append(gt.People, v)
		case "demo_qr":
			var v DemoQR
			if err = json.Unmarshal(sc.Bytes(), &v); err == nil {
				var ok bool
				if v.Key, ok = KeyFromString(v.IdentityKey); !ok {
					err = fmt.Errorf("identity key %q does not parse", v.IdentityKey)
				}
			}
			demo = append(demo, v)
		case "summary":
			summaries++
			err = json.Unmarshal(sc.Bytes(), &gt.Summary)
		default:
			err = fmt.Errorf("unknown line type %q", head.Type)
		}
		if err != nil {
			return nil, nil, errs.E(errs.Invalid, op, fmt.Errorf("line %d: %w", line, err))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, nil, errs.E(errs.Invalid, op, err)
	}
	if summaries != 1 {
		return nil, nil, errs.E(errs.Invalid, op, fmt.Errorf("%d summary lines, want 1 (a truncated file?)", summaries))
	}
	return gt, demo, nil
}
