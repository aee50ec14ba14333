package sim

// Data tables the generator draws from: names by frequency, provinces, districts, countries.

// weighted is a value with a relative frequency.
type weighted struct {
	value  string
	weight int
}

// familyNames holds Vietnamese family names by approximate frequency (per mille), with the
// southern forms (Huỳnh, Võ) weighted as in Ho Chi Minh City.
var familyNames = []weighted{
	{"Nguyễn", 380}, {"Trần", 110}, {"Lê", 95}, {"Phạm", 70}, {"Huỳnh", 30}, {"Hoàng", 21},
	{"Phan", 45}, {"Võ", 24}, {"Vũ", 15}, {"Đặng", 21}, {"Bùi", 20}, {"Đỗ", 14}, {"Hồ", 13},
	{"Ngô", 13}, {"Dương", 10}, {"Lý", 5}, {"Trương", 8}, {"Đinh", 6}, {"Lâm", 5}, {"Mai", 4},
}

var middleMale = []string{"Văn", "Văn", "Văn", "Hữu", "Đức", "Minh", "Quốc", "Thanh", "Công", "Hoàng", "Gia", "Ngọc", "Tấn", "Trọng"}
var middleFemale = []string{"Thị", "Thị", "Thị", "Ngọc", "Thanh", "Thu", "Kim", "Mỹ", "Bảo", "Minh", "Phương", "Hoài"}

var givenMale = []string{
	"An", "Bình", "Dũng", "Hùng", "Hải", "Hiếu", "Huy", "Khoa", "Long", "Minh", "Nam", "Phong",
	"Phúc", "Quân", "Sơn", "Tài", "Thắng", "Thành", "Trung", "Tuấn", "Việt", "Vinh", "Đạt",
	"Khánh", "Lâm", "Tâm", "Toàn", "Cường", "Hoà", "Duy", "Kiên", "Lộc", "Nghĩa", "Quang", "Thịnh",
}
var givenFemale = []string{
	"Anh", "Dung", "Hà", "Hằng", "Hạnh", "Hoa", "Hương", "Lan", "Linh", "Mai", "Ngân", "Ngọc",
	"Nhung", "Oanh", "Phương", "Quyên", "Thảo", "Thu", "Thuý", "Trang", "Trinh", "Tuyết", "Vân",
	"Vy", "Yến", "Hoà", "Diệp", "Giang", "Loan", "My", "Nhi", "Tiên", "Uyên", "Xuân",
}

// toneVariants maps a syllable with the old tone placement to the new one; both fold equal but
// are different code points even after NFC (domain.md).
var toneVariants = map[string]string{"Hoà": "Hòa", "Thuý": "Thúy", "Thuỷ": "Thủy"}

// foreigner is a foreign national as the generator draws them.
type foreigner struct {
	nationality string // ISO alpha-2
	countryVI   string // the country's Vietnamese name, as tokhaiyte lists it
	names       []string
	passport    string // passport letter prefix
}

var foreigners = []foreigner{
	{"KR", "Hàn Quốc", []string{"KIM MIN JUN", "LEE SEO YEON", "PARK JI HOON", "CHOI YU NA", "JUNG WOO SUNG"}, "M"},
	{"CN", "Trung Quốc", []string{"LI WEI", "WANG FANG", "ZHANG YONG", "LIU YANG", "CHEN JING"}, "E"},
	{"JP", "Nhật Bản", []string{"TANAKA HIROSHI", "SATO YUKI", "SUZUKI KENJI", "TAKAHASHI AI"}, "T"},
	{"US", "Hoa Kỳ", []string{"JOHN SMITH", "EMILY JOHNSON", "MICHAEL BROWN", "SARAH DAVIS"}, "A"},
	{"FR", "Pháp", []string{"PIERRE MARTIN", "CLAIRE DUBOIS", "LUC BERNARD"}, "F"},
}

// province is one row of domain.md's Appendix A: the 2021 GSO code, the official name and its
// 2025 successor code.
type province struct {
	code      string
	name      string // official name with its type: "Tỉnh Đồng Nai", "Thành phố Hà Nội"
	successor string
}

// provinces2021 is the 63-province list of 2021 (domain.md, Appendix A).
var provinces2021 = []province{
	{"01", "Thành phố Hà Nội", "01"}, {"02", "Tỉnh Hà Giang", "08"}, {"04", "Tỉnh Cao Bằng", "04"},
	{"06", "Tỉnh Bắc Kạn", "19"}, {"08", "Tỉnh Tuyên Quang", "08"}, {"10", "Tỉnh Lào Cai", "15"},
	{"11", "Tỉnh Điện Biên", "11"}, {"12", "Tỉnh Lai Châu", "12"}, {"14", "Tỉnh Sơn La", "14"},
	{"15", "Tỉnh Yên Bái", "15"}, {"17", "Tỉnh Hoà Bình", "25"}, {"19", "Tỉnh Thái Nguyên", "19"},
	{"20", "Tỉnh Lạng Sơn", "20"}, {"22", "Tỉnh Quảng Ninh", "22"}, {"24", "Tỉnh Bắc Giang", "24"},
	{"25", "Tỉnh Phú Thọ", "25"}, {"26", "Tỉnh Vĩnh Phúc", "25"}, {"27", "Tỉnh Bắc Ninh", "24"},
	{"30", "Tỉnh Hải Dương", "31"}, {"31", "Thành phố Hải Phòng", "31"}, {"33", "Tỉnh Hưng Yên", "33"},
	{"34", "Tỉnh Thái Bình", "33"}, {"35", "Tỉnh Hà Nam", "37"}, {"36", "Tỉnh Nam Định", "37"},
	{"37", "Tỉnh Ninh Bình", "37"}, {"38", "Tỉnh Thanh Hóa", "38"}, {"40", "Tỉnh Nghệ An", "40"},
	{"42", "Tỉnh Hà Tĩnh", "42"}, {"44", "Tỉnh Quảng Bình", "44"}, {"45", "Tỉnh Quảng Trị", "44"},
	{"46", "Tỉnh Thừa Thiên Huế", "46"}, {"48", "Thành phố Đà Nẵng", "48"}, {"49", "Tỉnh Quảng Nam", "48"},
	{"51", "Tỉnh Quảng Ngãi", "51"}, {"52", "Tỉnh Bình Định", "52"}, {"54", "Tỉnh Phú Yên", "66"},
	{"56", "Tỉnh Khánh Hòa", "56"}, {"58", "Tỉnh Ninh Thuận", "56"}, {"60", "Tỉnh Bình Thuận", "68"},
	{"62", "Tỉnh Kon Tum", "51"}, {"64", "Tỉnh Gia Lai", "52"}, {"66", "Tỉnh Đắk Lắk", "66"},
	{"67", "Tỉnh Đắk Nông", "68"}, {"68", "Tỉnh Lâm Đồng", "68"}, {"70", "Tỉnh Bình Phước", "75"},
	{"72", "Tỉnh Tây Ninh", "80"}, {"74", "Tỉnh Bình Dương", "79"}, {"75", "Tỉnh Đồng Nai", "75"},
	{"77", "Tỉnh Bà Rịa - Vũng Tàu", "79"}, {"79", "Thành phố Hồ Chí Minh", "79"}, {"80", "Tỉnh Long An", "80"},
	{"82", "Tỉnh Tiền Giang", "82"}, {"83", "Tỉnh Bến Tre", "86"}, {"84", "Tỉnh Trà Vinh", "86"},
	{"86", "Tỉnh Vĩnh Long", "86"}, {"87", "Tỉnh Đồng Tháp", "82"}, {"89", "Tỉnh An Giang", "91"},
	{"91", "Tỉnh Kiên Giang", "91"}, {"92", "Thành phố Cần Thơ", "92"}, {"93", "Tỉnh Hậu Giang", "92"},
	{"94", "Tỉnh Sóc Trăng", "92"}, {"95", "Tỉnh Bạc Liêu", "96"}, {"96", "Tỉnh Cà Mau", "96"},
}

// residenceWeights skews where people live towards Ho Chi Minh City and its neighbours (the
// source document's checkpoints were in HCMC); every other province gets weight 1.
var residenceWeights = map[string]int{"79": 300, "74": 40, "75": 35, "80": 25, "77": 15, "01": 20, "92": 10}

// provinceSpellings gives the extra spellings seen in real data for some provinces, beyond the
// generic ones (official name, bare name, bare name without diacritics).
var provinceSpellings = map[string][]string{
	"79": {"TP. Hồ Chí Minh", "TP.HCM", "TPHCM", "Ho Chi Minh", "Sài Gòn", "Hồ Chí Minh"},
	"01": {"Hà Nội", "Ha Noi", "TP. Hà Nội"},
	"17": {"Hòa Bình", "Tỉnh Hòa Bình"},
	"46": {"Thừa Thiên - Huế", "Thừa Thiên Huế"},
	"06": {"Bắc Kạn", "Bac Can"},
	"66": {"Đắk Lắk", "Dak Lak"},
}

// districts holds a few district names per province for addresses; others get generic ones.
var districts = map[string][]string{
	"79": {"Quận 1", "Quận 3", "Quận 5", "Quận 7", "Quận 10", "Quận Bình Thạnh", "Quận Gò Vấp", "Quận Tân Bình", "Thành phố Thủ Đức", "Huyện Bình Chánh", "Huyện Củ Chi"},
	"01": {"Quận Ba Đình", "Quận Hoàn Kiếm", "Quận Cầu Giấy", "Quận Đống Đa", "Quận Hà Đông"},
	"74": {"Thành phố Thủ Dầu Một", "Thành phố Dĩ An", "Thành phố Thuận An"},
	"75": {"Thành phố Biên Hòa", "Huyện Nhơn Trạch", "Huyện Long Thành"},
}

// genericDistricts are district names that occur in many provinces, for the provinces
// districts does not list.
var genericDistricts = []string{"Huyện Châu Thành", "Huyện Phú Tân", "Huyện Tân Phú", "Huyện Yên Lạc", "Huyện Thanh Sơn", "Thị xã Bình Minh", "Huyện Tam Nông", "Huyện Long Phú"}

var wards = []string{"Phường 1", "Phường 2", "Phường 4", "Phường 8", "Phường 12", "Phường Bến Nghé", "Phường Tân Định", "Phường Linh Trung", "Xã Tân Thông Hội", "Phường Hiệp Phú", "P8", "F. 10"}

var streets = []string{"Lê Lợi", "Nguyễn Huệ", "Trần Hưng Đạo", "Hai Bà Trưng", "Lý Thường Kiệt", "Cách Mạng Tháng Tám", "Võ Văn Tần", "Điện Biên Phủ", "Phan Đăng Lưu", "Nguyễn Trãi", "Lê Văn Sỹ", "Quang Trung"}

// mobilePrefixes are 10-digit mobile prefixes (after the 0) valid for every following digit
// under domain.md's mobile pattern.
var mobilePrefixes = []string{"32", "33", "34", "35", "36", "37", "38", "39", "70", "76", "77", "78", "79", "81", "82", "83", "84", "85", "88", "90", "91", "93", "94", "96", "97", "98", "56", "58"}

// oldMobilePrefixes maps a converted 10-digit prefix back to the 11-digit prefix it replaced
// in 2018–2019 (domain.md): the last 7 digits were kept.
var oldMobilePrefixes = map[string]string{
	"32": "162", "33": "163", "34": "164", "35": "165", "36": "166", "37": "167", "38": "168", "39": "169",
	"70": "120", "79": "121", "77": "122", "76": "126", "78": "128",
	"83": "123", "84": "124", "85": "125", "81": "127", "82": "129",
	"56": "186", "58": "188",
}

// Symptom and exposure codes that are in none of the platforms' lists, used for wrong
// declarations: a headache checkbox an old client still sends, a festival question.
const (
	unknownBluezoneSymptom  = "dau_dau"
	unknownNCOVISymptom     = "headache"
	unknownBluezoneExposure = "di_le_hoi"
)

// abolishedProvinces are provinces split up decades ago (Sông Bé in 1997, Hà Sơn Bình in 1991,
// Nghĩa Bình and Phú Khánh in 1989) that old address books still produce: no 2021 or 2025
// province has their name. (Hà Tây is not among them: canonical resolves it to Hà Nội, which
// absorbed it whole.)
var abolishedProvinces = []string{"Tỉnh Sông Bé", "Tỉnh Hà Sơn Bình", "Nghĩa Bình", "Phú Khánh"}

// formerCountries are nationality names that are no ISO code or current country.
var formerCountries = []string{"Liên Xô", "Tiệp Khắc", "Nam Tư"}
