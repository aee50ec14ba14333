package canonical

// Normalize returns d with its text in the common form: NFC, trimmed, single-spaced; the
// name's match key; the phone in E.164; the document classified; the province resolved to its
// GSO code and 2025 successor; the nationality as an ISO code; symptom and exposure sets sorted
// and unique. It never fails: a value it cannot put in form is left as it was, for Validate to
// report. Normalize is idempotent: Normalize(Normalize(d)) equals Normalize(d).
func Normalize(d Declaration) Declaration {
	return d // TODO(issue 2): being written.
}
