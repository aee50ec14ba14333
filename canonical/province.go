package canonical

import (
	"bytes"
	"strings"
)

// Province is one province-level unit in one code set.
type Province struct {
	Code       string  // 2-digit GSO code in CodeSet ("79")
	Name       string  // official name with its type ("Thành phố Hồ Chí Minh", "Tỉnh Hoà Bình")
	Type       string  // "Tỉnh" or "Thành phố Trung ương"
	CodeSet    CodeSet // the code set Code belongs to
	Successor  string  // the 2025 code that took this unit over; a 2025 unit's own code
	CCCDPrefix string  // the 3-digit CCCD prefix of births registered here (2021 set only)
	Landline   string  // landline area code with the 0 ("028"; 2021 set only)
}

// provinceIndex is the lookup structure built once from the data tables.
type provinceIndex struct {
	byCode2021 [100]int16 // 1 + index into provinces2021, 0 when none
	byCode2025 [100]int16 // 1 + index into provinces2025, 0 when none
	byKey      map[string]Province
	landline   map[string]bool // area codes without the leading 0 ("24", "219")
}

// provinces is the index over the tables of province_table.go. It is data, derived by a pure
// function.
var provinces = buildProvinceIndex(provinces2021, provinces2025, provinceAliases, provinceAliases2025)

func buildProvinceIndex(p2021, p2025 []Province, aliases, aliases2025 []struct{ Spelling, Code string }) *provinceIndex {
	ix := &provinceIndex{byKey: make(map[string]Province), landline: make(map[string]bool)}
	for i, p := range p2021 {
		ix.byCode2021[codeIndex(p.Code)] = int16(i + 1)
		ix.byKey[provinceKey(p.Name)] = p
		ix.byKey[stripProvincePrefix(provinceKey(p.Name))] = p
		ix.landline[strings.TrimPrefix(p.Landline, "0")] = true
	}
	for _, a := range aliases {
		p := p2021[ix.byCode2021[codeIndex(a.Code)]-1]
		ix.byKey[provinceKey(a.Spelling)] = p
	}
	for i, p := range p2025 {
		ix.byCode2025[codeIndex(p.Code)] = int16(i + 1)
		// A 2025 name resolves to the 2025 set only where it is not also a 2021 name: the
		// 2021 set is the code set of the declarations' time.
		full := provinceKey(p.Name)
		for _, key := range [...]string{full, stripProvincePrefix(full)} {
			if _, taken := ix.byKey[key]; !taken {
				ix.byKey[key] = p
			}
		}
	}
	for _, a := range aliases2025 {
		ix.byKey[provinceKey(a.Spelling)] = p2025[ix.byCode2025[codeIndex(a.Code)]-1]
	}
	return ix
}

// codeIndex returns the numeric value of a 2-digit code, or 0 (no province has code 00) when
// code is not two ASCII digits.
func codeIndex(code string) int {
	if len(code) != 2 || code[0] < '0' || code[0] > '9' || code[1] < '0' || code[1] > '9' {
		return 0
	}
	return int(code[0]-'0')*10 + int(code[1]-'0')
}

// ProvinceByCode returns the province with a 2-digit GSO code in a code set. "01" is a code,
// "1" is not.
func ProvinceByCode(set CodeSet, code string) (Province, bool) {
	i := codeIndex(code)
	if i == 0 {
		return Province{}, false
	}
	var n int16
	switch set {
	case CodeSet2021:
		n = provinces.byCode2021[i]
		if n > 0 {
			return provinces2021[n-1], true
		}
	case CodeSet2025:
		n = provinces.byCode2025[i]
		if n > 0 {
			return provinces2025[n-1], true
		}
	}
	return Province{}, false
}

// Provinces returns the provinces of a code set in code order (a copy).
func Provinces(set CodeSet) []Province {
	switch set {
	case CodeSet2021:
		return append([]Province(nil), provinces2021...)
	case CodeSet2025:
		return append([]Province(nil), provinces2025...)
	}
	return nil
}

// ResolveProvince finds the province a text names: a 2-digit GSO code of the 2021 set, or a
// name in any common spelling (with or without diacritics, NFC or NFD, old or new tone
// placement, any case, with "Tỉnh", "Thành phố", "TP." or "Tp" in front, nicknames such as
// "TP.HCM" or "Sài Gòn"). Names common to both sets resolve to the 2021 set; a name only the
// 2025 list has ("Thành phố Huế") resolves to the 2025 set.
func ResolveProvince(text string) (Province, bool) {
	text = strings.TrimSpace(text)
	if len(text) == 2 && codeIndex(text) != 0 {
		return ProvinceByCode(CodeSet2021, text)
	}
	if text == "" || len(text) > 4096 {
		return Province{}, false
	}
	var buf [64]byte
	key := appendMatchKey(buf[:0], text)
	if len(key) == 0 || len(key) > 64 {
		return Province{}, false
	}
	if p, ok := provinces.byKey[string(key)]; ok {
		return p, true
	}
	for _, suffix := range [...]string{"city", "province"} {
		if k, found := bytes.CutSuffix(key, []byte(suffix)); found && len(k) > 0 {
			if p, ok := provinces.byKey[string(k)]; ok {
				return p, true
			}
			if p, ok := provinces.byKey[string(stripPrefixBytes(k))]; ok {
				return p, true
			}
		}
	}
	if k := stripPrefixBytes(key); len(k) != len(key) {
		if p, ok := provinces.byKey[string(k)]; ok {
			return p, true
		}
	}
	return Province{}, false
}

// stripPrefixBytes is stripProvincePrefix on a byte key.
func stripPrefixBytes(key []byte) []byte {
	for _, prefix := range [...]string{"thanhpho", "tinh", "tp"} {
		if k, found := bytes.CutPrefix(key, []byte(prefix)); found && len(k) > 0 {
			return k
		}
	}
	return key
}

// stripProvincePrefix removes one leading type word from a province key: "thanhpho", "tinh",
// "tp". No province's own name starts with one of them.
func stripProvincePrefix(key string) string {
	for _, prefix := range [...]string{"thanhpho", "tinh", "tp"} {
		if k := strings.TrimPrefix(key, prefix); k != key && k != "" {
			return k
		}
	}
	return key
}

// provinceKey is the match key of a province name (see matchKey).
func provinceKey(s string) string { return matchKey(s) }
