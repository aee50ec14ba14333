package lienthongv1_test

import (
	"bufio"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"

	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// The contract is what checkpoint vendors and partners read: these tests fail CI when an
// element of it is undocumented, when an enum lacks its _UNSPECIFIED zero value, or when the
// codes the comments promise drift from the Go common form in package canonical.

// files are the generated descriptors of every .proto file of the package.
var files = []protoreflect.FileDescriptor{
	lienthongv1.File_lienthong_v1_declaration_proto,
	lienthongv1.File_lienthong_v1_view_proto,
	lienthongv1.File_lienthong_v1_ingest_service_proto,
	lienthongv1.File_lienthong_v1_checkpoint_service_proto,
	lienthongv1.File_lienthong_v1_audit_service_proto,
	lienthongv1.File_lienthong_v1_keys_service_proto,
}

// TestEveryProtoFileIsGenerated catches a .proto file added without its generated Go (or
// without being listed in files above, which the other tests walk).
func TestEveryProtoFileIsGenerated(t *testing.T) {
	onDisk, err := filepath.Glob("*.proto")
	if err != nil {
		t.Fatal(err)
	}
	var generated []string
	for _, fd := range files {
		generated = append(generated, filepath.Base(fd.Path()))
		if fd.Package() != "lienthong.v1" {
			t.Errorf("%s: package %s, want lienthong.v1", fd.Path(), fd.Package())
		}
	}
	slices.Sort(onDisk)
	slices.Sort(generated)
	if !slices.Equal(onDisk, generated) {
		t.Errorf(".proto files on disk %v, generated and tested %v", onDisk, generated)
	}
}

// TestEveryElementHasALeadingComment walks the generated descriptors (so nothing is missed) and
// looks each element up in the comments parsed from the .proto sources (the generated Go keeps
// no source info).
func TestEveryElementHasALeadingComment(t *testing.T) {
	comments := parseProtoComments(t)
	check := func(key string) {
		c, ok := comments[key]
		switch {
		case !ok:
			t.Errorf("%s: not found in the .proto sources (is the generated code stale?)", key)
		case strings.TrimSpace(c) == "":
			t.Errorf("%s: no leading comment; every element of the contract is documented", key)
		}
	}
	n := 0
	walk(files, func(d protoreflect.Descriptor) { check(key(d)); n++ })
	// A floor, so a walk that silently finds nothing cannot pass.
	if n < 200 {
		t.Errorf("walked only %d elements; the contract has more", n)
	}
}

// TestEnumZeroValuesAreUnspecified: a proto3 enum's zero value is what an unset field reads as,
// so it must never mean something real (Buf style: ENUM_UNSPECIFIED), and every value carries
// the enum's prefix so values of different enums never clash.
func TestEnumZeroValuesAreUnspecified(t *testing.T) {
	var enums []protoreflect.EnumDescriptor
	walk(files, func(d protoreflect.Descriptor) {
		if e, ok := d.(protoreflect.EnumDescriptor); ok {
			enums = append(enums, e)
		}
	})
	if len(enums) == 0 {
		t.Fatal("no enums found")
	}
	for _, e := range enums {
		prefix := upperSnake(string(e.Name())) + "_"
		zero := e.Values().ByNumber(0)
		if zero == nil {
			t.Errorf("%s: no zero value", e.FullName())
			continue
		}
		if want := prefix + "UNSPECIFIED"; string(zero.Name()) != want {
			t.Errorf("%s: zero value %s, want %s", e.FullName(), zero.Name(), want)
		}
		for i := range e.Values().Len() {
			if v := e.Values().Get(i); !strings.HasPrefix(string(v.Name()), prefix) {
				t.Errorf("%s: value %s lacks the prefix %s", e.FullName(), v.Name(), prefix)
			}
		}
	}
}

// TestDocumentedCodesMatchTheCommonForm: Violation.reason, Health.symptoms and
// Health.exposures are strings whose allowed codes the comments list. A vendor codes against
// that list, so it must hold exactly the codes of package canonical: a new code there must be
// documented here, and a code listed here must exist there.
func TestDocumentedCodesMatchTheCommonForm(t *testing.T) {
	comments := parseProtoComments(t)
	tests := []struct {
		name    string
		element string // the documented proto field
		goFile  string // the Go source that defines the codes
		goType  string // the Go type of the code constants
	}{
		{"reasons", "lienthong.v1.Violation.reason", "../../../canonical/violation.go", "Reason"},
		{"symptoms", "lienthong.v1.Health.symptoms", "../../../canonical/declaration.go", "Symptom"},
		{"exposures", "lienthong.v1.Health.exposures", "../../../canonical/declaration.go", "Exposure"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := stringConstants(t, tt.goFile, tt.goType)
			if len(want) == 0 {
				t.Fatalf("no %s constants found in %s", tt.goType, tt.goFile)
			}
			got := quotedCodes(comments[tt.element])
			for _, code := range want {
				if !slices.Contains(got, code) {
					t.Errorf("%s: code %q (canonical %s) is not documented", tt.element, code, tt.goType)
				}
			}
			for _, code := range got {
				if !slices.Contains(want, code) {
					t.Errorf("%s: documents %q, which canonical does not define", tt.element, code)
				}
			}
		})
	}
}

// walk calls visit with every documented element: messages, fields, oneofs, enums, enum
// values, services and methods.
func walk(fds []protoreflect.FileDescriptor, visit func(protoreflect.Descriptor)) {
	enums := func(es protoreflect.EnumDescriptors) {
		for i := range es.Len() {
			e := es.Get(i)
			visit(e)
			for j := range e.Values().Len() {
				visit(e.Values().Get(j))
			}
		}
	}
	var messages func(protoreflect.MessageDescriptors)
	messages = func(ms protoreflect.MessageDescriptors) {
		for i := range ms.Len() {
			m := ms.Get(i)
			if m.IsMapEntry() {
				continue
			}
			visit(m)
			for j := range m.Fields().Len() {
				visit(m.Fields().Get(j))
			}
			for j := range m.Oneofs().Len() {
				if o := m.Oneofs().Get(j); !o.IsSynthetic() {
					visit(o)
				}
			}
			enums(m.Enums())
			messages(m.Messages())
		}
	}
	for _, fd := range fds {
		messages(fd.Messages())
		enums(fd.Enums())
		for i := range fd.Services().Len() {
			s := fd.Services().Get(i)
			visit(s)
			for j := range s.Methods().Len() {
				visit(s.Methods().Get(j))
			}
		}
	}
}

// key names an element as parseProtoComments does: its full name, except that an enum value
// is named under its enum (protobuf scopes enum values beside the enum, not inside it).
func key(d protoreflect.Descriptor) string {
	if v, ok := d.(protoreflect.EnumValueDescriptor); ok {
		return string(v.Parent().FullName()) + "." + string(v.Name())
	}
	return string(d.FullName())
}

var (
	declRe  = regexp.MustCompile(`^(message|enum|service|oneof)\s+(\w+)\s*\{\s*(\})?$`)
	rpcRe   = regexp.MustCompile(`^rpc\s+(\w+)\s*\(`)
	fieldRe = regexp.MustCompile(`^(?:repeated\s+|optional\s+)?(?:map<[^>]+>|[\w.]+)\s+(\w+)\s*=\s*\d+\s*(\[.*\])?;$`)
	valueRe = regexp.MustCompile(`^(\w+)\s*=\s*-?\d+\s*(\[.*\])?;$`)
	skipRe  = regexp.MustCompile(`^(syntax|edition|package|import|option|reserved)\b`)
	codeRe  = regexp.MustCompile(`"([a-z][a-z0-9_]*)"`) // a quoted code in a comment
)

// parseProtoComments reads the .proto files of this directory (formatted by `buf format`) and
// returns the leading comment of every element, keyed by full name: the comment lines directly
// above the declaration, with no blank line between, as protoc defines a leading comment. A
// line it does not understand fails the test, so an element cannot slip past unparsed.
func parseProtoComments(t *testing.T) map[string]string {
	t.Helper()
	paths, err := filepath.Glob("*.proto")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no .proto files found: %v", err)
	}
	out := map[string]string{}
	for _, path := range paths {
		parseProtoFile(t, path, out)
	}
	return out
}

func parseProtoFile(t *testing.T, path string, out map[string]string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	type scope struct {
		kind   string // message, enum, service, oneof
		name   string // full name of the element
		fields string // full name fields are scoped under (a oneof's fields belong to its message)
	}
	var (
		pkg     string
		stack   []scope
		pending []string
	)
	record := func(key string) {
		if _, dup := out[key]; dup {
			t.Errorf("%s: %s declared twice", path, key)
		}
		out[key] = strings.Join(pending, "\n")
		pending = nil
	}
	top := func() scope {
		if len(stack) == 0 {
			return scope{name: pkg, fields: pkg}
		}
		return stack[len(stack)-1]
	}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "//"):
			pending = append(pending, strings.TrimSpace(strings.TrimPrefix(line, "//")))
		case line == "":
			pending = nil
		case strings.HasPrefix(line, "package "):
			pkg = strings.TrimSuffix(strings.TrimSpace(strings.TrimPrefix(line, "package ")), ";")
			pending = nil
		case skipRe.MatchString(line):
			pending = nil
		case line == "}":
			if len(stack) == 0 {
				t.Fatalf("%s:%d: unbalanced }", path, n)
			}
			stack = stack[:len(stack)-1]
		case declRe.MatchString(line):
			m := declRe.FindStringSubmatch(line)
			kind, parent := m[1], top()
			name := parent.name + "." + m[2]
			if kind == "oneof" {
				name = parent.fields + "." + m[2]
			}
			record(name)
			if m[3] == "" { // not an empty body "{}"
				fields := name
				if kind == "oneof" {
					fields = parent.fields
				}
				stack = append(stack, scope{kind: kind, name: name, fields: fields})
			}
		case rpcRe.MatchString(line) && top().kind == "service":
			record(top().name + "." + rpcRe.FindStringSubmatch(line)[1])
		case fieldRe.MatchString(line) && (top().kind == "message" || top().kind == "oneof"):
			record(top().fields + "." + fieldRe.FindStringSubmatch(line)[1])
		case valueRe.MatchString(line) && top().kind == "enum":
			record(top().name + "." + valueRe.FindStringSubmatch(line)[1])
		default:
			t.Errorf("%s:%d: line not understood by the comment check: %q", path, n, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(stack) != 0 {
		t.Errorf("%s: %d unclosed blocks", path, len(stack))
	}
}

// stringConstants returns the values of the string constants of type typeName declared in the
// Go file at path (the codes of package canonical, read from its source so that this package
// stays free of Go dependencies on it).
func stringConstants(t *testing.T, path, typeName string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != typeName {
				continue
			}
			for _, v := range vs.Values {
				lit, ok := v.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					t.Fatalf("%s: a %s constant is not a string literal", path, typeName)
				}
				s, err := strconv.Unquote(lit.Value)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, s)
			}
		}
	}
	return out
}

// quotedCodes returns the lower_snake_case words in double quotes in a comment.
func quotedCodes(comment string) []string {
	var out []string
	for _, m := range codeRe.FindAllStringSubmatch(comment, -1) {
		if !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	return out
}

// upperSnake turns an enum's PascalCase name into its value prefix: QRForm → QR_FORM,
// DocumentType → DOCUMENT_TYPE.
func upperSnake(name string) string {
	var b strings.Builder
	for i, r := range name {
		upper := r >= 'A' && r <= 'Z'
		if i > 0 && upper {
			prev := rune(name[i-1])
			nextLower := i+1 < len(name) && name[i+1] >= 'a' && name[i+1] <= 'z'
			if (prev >= 'a' && prev <= 'z') || (prev >= '0' && prev <= '9') || nextLower {
				b.WriteByte('_')
			}
		}
		b.WriteRune(r)
	}
	return strings.ToUpper(b.String())
}
