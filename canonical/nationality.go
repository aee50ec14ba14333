package canonical

import "strings"

// isoCountries is every officially assigned ISO 3166-1 alpha-2 code.
const isoCountries = "" +
	"AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ " +
	"BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ " +
	"CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ " +
	"DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR " +
	"GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU " +
	"ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ " +
	"LA LB LC LI LK LR LS LT LU LV LY " +
	"MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ " +
	"NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA " +
	"RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ " +
	"TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ " +
	"VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW"

// countryNames maps the names (Vietnamese and English, any diacritics) and alpha-3 codes seen
// in declarations to alpha-2 codes. Keys are compared by matchKey.
var countryNames = map[string][]string{
	"VN": {"Việt Nam", "Vietnam", "Vietnamese", "VNM", "Cộng hòa xã hội chủ nghĩa Việt Nam"},
	"CN": {"Trung Quốc", "China", "CHN", "Trung Hoa", "People's Republic of China"},
	"KR": {"Hàn Quốc", "Korea", "South Korea", "Republic of Korea", "Nam Hàn", "Đại Hàn", "KOR"},
	"KP": {"Triều Tiên", "North Korea", "Bắc Triều Tiên", "PRK"},
	"JP": {"Nhật Bản", "Nhật", "Japan", "JPN"},
	"US": {"Hoa Kỳ", "Mỹ", "United States", "United States of America", "USA", "America"},
	"LA": {"Lào", "Laos", "Lao PDR", "LAO"},
	"KH": {"Campuchia", "Cam-pu-chia", "Cambodia", "KHM"},
	"TH": {"Thái Lan", "Thailand", "THA"},
	"FR": {"Pháp", "France", "FRA"},
	"DE": {"Đức", "Germany", "DEU"},
	"GB": {"Anh", "Vương quốc Anh", "United Kingdom", "UK", "England", "Great Britain", "GBR"},
	"AU": {"Úc", "Australia", "Ô-xtrây-li-a", "AUS"},
	"RU": {"Nga", "Liên bang Nga", "Russia", "Russian Federation", "RUS"},
	"SG": {"Singapore", "Xinh-ga-po", "SGP"},
	"MY": {"Malaysia", "Ma-lai-xi-a", "MYS"},
	"ID": {"Indonesia", "In-đô-nê-xi-a", "IDN"},
	"PH": {"Philippines", "Philippin", "Phi-líp-pin", "PHL"},
	"IN": {"Ấn Độ", "India", "IND"},
	"TW": {"Đài Loan", "Taiwan", "TWN"},
	"HK": {"Hồng Kông", "Hong Kong", "HKG"},
	"CA": {"Canada", "Ca-na-đa", "CAN"},
	"IT": {"Ý", "Italia", "Italy", "ITA"},
	"ES": {"Tây Ban Nha", "Spain", "ESP"},
	"NL": {"Hà Lan", "Netherlands", "Holland", "NLD"},
	"MM": {"Myanmar", "Miến Điện", "Burma", "MMR"},
	"NZ": {"New Zealand", "Niu Di-lân", "NZL"},
	"BR": {"Brazil", "Bra-xin", "BRA"},
	"SE": {"Thụy Điển", "Sweden", "SWE"},
	"CH": {"Thụy Sĩ", "Switzerland", "CHE"},
	"BE": {"Bỉ", "Belgium", "BEL"},
	"PL": {"Ba Lan", "Poland", "POL"},
	"CZ": {"Séc", "Cộng hòa Séc", "Czech Republic", "Czechia", "CZE"},
	"UA": {"Ukraina", "Ukraine", "UKR"},
	"TR": {"Thổ Nhĩ Kỳ", "Turkey", "Türkiye", "TUR"},
	"IL": {"Israel", "ISR"},
	"SA": {"Ả Rập Xê Út", "Saudi Arabia", "SAU"},
	"AE": {"Các Tiểu vương quốc Ả Rập Thống nhất", "United Arab Emirates", "UAE", "ARE"},
	"BN": {"Brunei", "BRN"},
	"TL": {"Đông Timor", "Timor-Leste", "East Timor", "TLS"},
	"MN": {"Mông Cổ", "Mongolia", "MNG"},
	"NO": {"Na Uy", "Norway", "NOR"},
	"DK": {"Đan Mạch", "Denmark", "DNK"},
	"FI": {"Phần Lan", "Finland", "FIN"},
	"AT": {"Áo", "Austria", "AUT"},
	"ZA": {"Nam Phi", "South Africa", "ZAF"},
	"EG": {"Ai Cập", "Egypt", "EGY"},
	"MX": {"Mexico", "Mê-hi-cô", "MEX"},
	"CU": {"Cuba", "Cu Ba", "CUB"},
	"PT": {"Bồ Đào Nha", "Portugal", "PRT"},
	"IE": {"Ireland", "Ai-len", "IRL"},
	"GR": {"Hy Lạp", "Greece", "GRC"},
	"HU": {"Hungary", "Hung-ga-ri", "HUN"},
	"BD": {"Bangladesh", "Băng-la-đét", "BGD"},
	"PK": {"Pakistan", "PAK"},
	"NP": {"Nepal", "NPL"},
	"LK": {"Sri Lanka", "LKA"},
	"IR": {"Iran", "IRN"},
	"NG": {"Nigeria"}, // not its alpha-3 "NGA": "Nga" is Russia in Vietnamese
	"AR": {"Argentina", "ARG"},
}

// countryIndex maps a matchKey of a name or alpha-3 code to an alpha-2 code; built once.
var countryIndex = buildCountryIndex(countryNames)

func buildCountryIndex(names map[string][]string) map[string]string {
	ix := make(map[string]string)
	for code, list := range names {
		for _, name := range list {
			ix[matchKey(name)] = code
		}
	}
	return ix
}

// isoCountrySet marks each code of isoCountries at (first-'A')*26 + (second-'A').
var isoCountrySet = buildISOCountrySet(isoCountries)

func buildISOCountrySet(codes string) *[26 * 26]bool {
	var set [26 * 26]bool
	for _, c := range strings.Fields(codes) {
		set[int(c[0]-'A')*26+int(c[1]-'A')] = true
	}
	return &set
}

// IsCountryCode reports whether code is an assigned ISO 3166-1 alpha-2 code (upper case).
func IsCountryCode(code string) bool {
	if len(code) != 2 || code[0] < 'A' || code[0] > 'Z' || code[1] < 'A' || code[1] > 'Z' {
		return false
	}
	return isoCountrySet[int(code[0]-'A')*26+int(code[1]-'A')]
}

// NationalityCode returns the ISO 3166-1 alpha-2 code of a nationality given as a code in any
// case ("vn"), an alpha-3 code ("VNM"), or a Vietnamese or English name with or without
// diacritics ("Việt Nam", "Viet Nam", "Hàn Quốc", "Korea"). Two ASCII letters are always read
// as a code: "My" is Malaysia (MY), while "Mỹ" is the United States. An empty or unknown value
// gives ok false.
func NationalityCode(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if len(s) == 2 {
		code := strings.ToUpper(s)
		if IsCountryCode(code) {
			return code, true
		}
	}
	if s == "" || len(s) > 4096 {
		return "", false
	}
	var buf [64]byte
	code, ok := countryIndex[string(appendMatchKey(buf[:0], s))]
	return code, ok
}
