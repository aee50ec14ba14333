package gateway

import (
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// validUTF8 replaces invalid UTF-8 in every string field of m, recursively, with U+FFFD. A
// rejected declaration keeps the text that broke the invalid_utf8 rule as the store holds it
// (the Redis store keeps the bytes, the embedded store's JSON already replaced them). The
// contract does not check UTF-8 while coding (so that one bad declaration is rejected alone),
// but the clients that read answers may be built from proto3 copies of it, whose decoders
// refuse a string that is not UTF-8: every answer's text is UTF-8.
func validUTF8(m protoreflect.Message) {
	fix := func(v protoreflect.Value) (protoreflect.Value, bool) {
		if s := v.String(); !utf8.ValidString(s) {
			return protoreflect.ValueOfString(strings.ToValidUTF8(s, "\uFFFD")), true
		}
		return v, false
	}
	var later []func() // m is not changed while Range walks it
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList():
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				if fd.Kind() == protoreflect.StringKind {
					if nv, changed := fix(l.Get(i)); changed {
						later = append(later, func() { l.Set(i, nv) })
					}
				} else if fd.Message() != nil {
					validUTF8(l.Get(i).Message())
				}
			}
		case fd.IsMap():
			// The contract's messages of rejections have no maps.
		case fd.Kind() == protoreflect.StringKind:
			if nv, changed := fix(v); changed {
				later = append(later, func() { m.Set(fd, nv) })
			}
		case fd.Message() != nil:
			validUTF8(v.Message())
		}
		return true
	})
	for _, f := range later {
		f()
	}
}
