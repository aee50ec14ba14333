package tokhaiyte_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/lienthong/lienthong/adapters/tokhaiyte"
	"github.com/lienthong/lienthong/canonical"
)

// The encoder writes the declaration's text as it is; WriteCSV quotes what needs quoting.
func ExampleWriteCSV() {
	d := canonical.Declaration{
		Source: canonical.Source{RecordID: "TKYT-2021-0000001"},
		Person: canonical.Person{FullName: "NGUYEN VAN AN", BirthDate: canonical.BirthDate{Year: 1990, Precision: canonical.PrecisionYear},
			Gender: canonical.GenderMale, Nationality: "Viet Nam", Phone: "0912 345 678"},
		Address:    canonical.Address{Province: "TP HCM", Street: "12, Lê Lợi"},
		Health:     canonical.Health{HasSymptoms: true, Exposures: []canonical.Exposure{canonical.ExposureContactWithCase}},
		DeclaredAt: time.Date(2021, 8, 15, 2, 12, 0, 0, time.UTC),
	}
	var b strings.Builder
	_ = tokhaiyte.WriteCSV(&b, []tokhaiyte.Row{tokhaiyte.EncodeRow(d)}, false)
	fmt.Print(strings.ReplaceAll(b.String(), "\r\n", "\n")) // lines end in CRLF
	// Output:
	// Mã tờ khai,Khai hộ,Họ tên,Năm sinh,Giới tính,Quốc tịch,Số hộ chiếu/CMND/CCCD,Tỉnh/thành,Quận/huyện,Phường/xã,Số nhà/phố,Điện thoại,Email,Đi qua tỉnh/thành phố/quốc gia trong 14 ngày,Có triệu chứng,Ghi chú triệu chứng,Tiếp xúc người bệnh hoặc nghi ngờ,Tiếp xúc người từ nước có bệnh,Tiếp xúc người có biểu hiện,Thời gian khai báo
	// TKYT-2021-0000001,0,NGUYEN VAN AN,1990,Nam,Viet Nam,,TP HCM,,,"12, Lê Lợi",0912 345 678,,,Có,,1,2,2,15/08/2021 09:12:00
}
