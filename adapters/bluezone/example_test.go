package bluezone_test

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/lienthong/lienthong/adapters/bluezone"
	"github.com/lienthong/lienthong/canonical"
)

// A partner (or the simulator) builds a batch from declarations and signs it.
func ExampleSign() {
	d := canonical.Declaration{
		Source: canonical.Source{RecordID: "BZ-000000001", SubjectID: "A1B2C3"},
		Person: canonical.Person{FullName: "Nguyễn Văn An", BirthDate: canonical.BirthDate{Year: 1990, Precision: canonical.PrecisionYear}},
	}
	body, _ := json.Marshal(bluezone.EncodeBatch("bz-1", []canonical.Declaration{d}))
	ts := bluezone.Timestamp(time.Unix(1629012345, 0))
	fmt.Println(bluezone.HeaderTimestamp+":", ts)
	fmt.Println(bluezone.HeaderSignature+":", bluezone.Sign([]byte("key"), ts, []byte("{}")))
	fmt.Println(len(body) > 0)
	// Output:
	// X-Bluezone-Timestamp: 1629012345
	// X-Bluezone-Signature: sha256=08cf926263a3c03d752b9a8d37a4eb457063c04920d62a9a4d76de1388e21a77
	// true
}
