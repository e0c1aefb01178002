package armor

import "slices"

// Reason codes. Each names one defect and belongs to one rule of
// docs/gate.md; Codes maps them to the rule. They are part of
// the API: servers report them to posters and peers, so never rename one.
// Rule and AllCodes expose the table.
const (
	CodeNonASCII        = "non-ascii"         // R-A1
	CodeBareCR          = "bare-cr"           // R-A1
	CodeEmptyBody       = "empty-body"        // R-A2
	CodeTextBefore      = "text-before-armor" // R-A2
	CodeNoArmor         = "no-armor"          // R-A2
	CodeArmorLabel      = "armor-label"       // R-A2
	CodeArmorHeader     = "armor-header"      // R-A3
	CodeBlankLine       = "armor-blank-line"  // R-A4
	CodeLineLength      = "armor-line-length" // R-A5
	CodeBase64          = "armor-base64"      // R-A5
	CodeChecksum        = "armor-checksum"    // R-A6
	CodeArmorEnd        = "armor-end"         // R-A7
	CodeTextAfter       = "text-after-armor"  // R-A7
	CodeMultipleBlocks  = "multiple-blocks"   // R-A7
	CodeBodyTooLarge    = "body-too-large"    // R-A8
	CodeWhitespace      = "armor-whitespace"  // R-A9
	CodePacketHeader    = "packet-header"     // R-P1
	CodeTruncated       = "packet-truncated"  // R-P2
	CodeIndeterminate   = "indeterminate-length"
	CodePartialLength   = "partial-length"      // R-P3
	CodePartialFirst    = "partial-first-chunk" // R-P3
	CodeNoDataPacket    = "no-data-packet"      // R-S1
	CodeTrailingData    = "trailing-data"       // R-S1
	CodeLegacySED       = "legacy-sed"          // R-S2
	CodeCompressed      = "top-level-compressed"
	CodeLiteral         = "top-level-literal"
	CodeSignature       = "top-level-signature"
	CodeKeyMaterial     = "top-level-key"
	CodeUserID          = "top-level-user-id"
	CodePadding         = "top-level-padding"
	CodeUnknownPacket   = "unknown-packet"
	CodeTooManyMarkers  = "too-many-markers"
	CodeAEADDisallowed  = "librepgp-aead-disallowed" // R-S2 + policy
	CodeNoESK           = "no-esk"                   // R-S3
	CodeTooManyESKs     = "too-many-esks"            // R-S3 + policy
	CodeVersionMismatch = "esk-version-mismatch"     // R-S4
	CodeBadPKESK        = "bad-pkesk"                // R-F1
	CodeVisible         = "visible-recipient"        // R-F1 + policy
	CodeBadSKESK        = "bad-skesk"                // R-F2
	CodeBadSEIPD        = "bad-seipd"                // R-F3, R-F4
	CodeBadAEADPacket   = "bad-aead-packet"          // R-F5
	CodeBadMarker       = "bad-marker"               // R-F6
	CodeFake            = "fake-ciphertext"          // R-H1
)

// codeRules maps every reason code to the rule it enforces. Read only.
var codeRules = map[string]string{
	CodeNonASCII:        "R-A1",
	CodeBareCR:          "R-A1",
	CodeEmptyBody:       "R-A2",
	CodeTextBefore:      "R-A2",
	CodeNoArmor:         "R-A2",
	CodeArmorLabel:      "R-A2",
	CodeArmorHeader:     "R-A3",
	CodeBlankLine:       "R-A4",
	CodeLineLength:      "R-A5",
	CodeBase64:          "R-A5",
	CodeChecksum:        "R-A6",
	CodeArmorEnd:        "R-A7",
	CodeTextAfter:       "R-A7",
	CodeMultipleBlocks:  "R-A7",
	CodeBodyTooLarge:    "R-A8",
	CodeWhitespace:      "R-A9",
	CodePacketHeader:    "R-P1",
	CodeTruncated:       "R-P2",
	CodeIndeterminate:   "R-P2",
	CodePartialLength:   "R-P3",
	CodePartialFirst:    "R-P3",
	CodeNoDataPacket:    "R-S1",
	CodeTrailingData:    "R-S1",
	CodeLegacySED:       "R-S2",
	CodeCompressed:      "R-S2",
	CodeLiteral:         "R-S2",
	CodeSignature:       "R-S2",
	CodeKeyMaterial:     "R-S2",
	CodeUserID:          "R-S2",
	CodePadding:         "R-S2",
	CodeUnknownPacket:   "R-S2",
	CodeTooManyMarkers:  "R-S2",
	CodeAEADDisallowed:  "R-S2",
	CodeNoESK:           "R-S3",
	CodeTooManyESKs:     "R-S3",
	CodeVersionMismatch: "R-S4",
	CodeBadPKESK:        "R-F1",
	CodeVisible:         "R-F1",
	CodeBadSKESK:        "R-F2",
	CodeBadSEIPD:        "R-F3/R-F4",
	CodeBadAEADPacket:   "R-F5",
	CodeBadMarker:       "R-F6",
	CodeFake:            "R-H1",
}

// Rule returns the rule of docs/gate.md that code enforces.
func Rule(code string) (string, bool) {
	r, ok := codeRules[code]
	return r, ok
}

// AllCodes lists every reason code.
func AllCodes() []string {
	out := make([]string, 0, len(codeRules))
	for c := range codeRules {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}
