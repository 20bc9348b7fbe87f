package booking

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Bounds of the administration API's text fields, in characters.
const (
	maxNameLen         = 100
	maxRoomNameLen     = 64
	maxRelationshipLen = 50
	maxExcludedReason  = 200
	maxLocationLen     = 32
	maxTimezoneLen     = 64
	minStaffPassword   = 12
)

// cleanText trims s and checks that 1 to max characters of printable text
// are left.
func cleanText(field, s string, max int) (string, error) {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) || s == "" || utf8.RuneCountInString(s) > max {
		return "", refuse(ErrValidation, "%s must be 1 to %d characters", field, max)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return "", refuse(ErrValidation, "%s must not contain control characters", field)
		}
	}
	return s, nil
}

// checkPrisonCode checks a prison code: 2 to 8 capital letters or digits.
func checkPrisonCode(s string) error {
	if len(s) < 2 || len(s) > 8 || strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != "" {
		return refuse(ErrValidation, "code must be 2 to 8 capital letters or digits, e.g. LDN")
	}
	return nil
}

// checkTimezone checks an IANA time zone name (e.g. Europe/London) that
// this server can load.
func checkTimezone(s string) error {
	bad := refuse(ErrValidation, "timezone must be an IANA time zone name, e.g. Europe/London")
	if s == "" || len(s) > maxTimezoneLen || s == "Local" ||
		strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_+-") != "" {
		return bad
	}
	if _, err := time.LoadLocation(s); err != nil {
		return bad
	}
	return nil
}

// checkPrisonerNumber checks a prison number: a capital letter, four
// digits and two capital letters, e.g. A1234BC.
func checkPrisonerNumber(s string) error {
	ok := len(s) == 7 && isUpper(s[0]) && isUpper(s[5]) && isUpper(s[6]) && allDigits(s[1:5])
	if !ok {
		return refuse(ErrValidation, "number must be a prison number such as A1234BC")
	}
	return nil
}

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }

// cleanLocation checks a location (wing, landing and cell, e.g. "B-2-14"):
// parts of capital letters and digits joined by '-', at most
// maxLocationLen characters. Empty is allowed only when optional. It is
// compared as it is, so it is taken exactly: no case folding, no trimming.
func cleanLocation(s string, optional bool) (string, error) {
	if s == "" && optional {
		return "", nil
	}
	bad := refuse(ErrValidation, "location must be up to %d capital letters and digits in parts joined by '-', e.g. B-2-14", maxLocationLen)
	if s == "" || len(s) > maxLocationLen {
		return "", bad
	}
	for _, part := range strings.Split(s, "-") {
		if part == "" || strings.Trim(part, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != "" {
			return "", bad
		}
	}
	return s, nil
}

// checkUsername checks a staff username: 3 to 64 lower-case letters,
// digits, '.', '_' or '-', starting with a letter or digit.
func checkUsername(s string) error {
	bad := refuse(ErrValidation, "username must be 3 to %d lower-case letters, digits, '.', '_' or '-', starting with a letter or digit", maxUsernameLen)
	if len(s) < 3 || len(s) > maxUsernameLen || strings.Trim(s, "abcdefghijklmnopqrstuvwxyz0123456789._-") != "" {
		return bad
	}
	if c := s[0]; c == '.' || c == '_' || c == '-' {
		return bad
	}
	return nil
}

// checkPassword checks a new staff password's length, in bytes: at least
// minStaffPassword, at most what bcrypt reads.
func checkPassword(s string) error {
	if len(s) < minStaffPassword || len(s) > maxPasswordLen {
		return refuse(ErrValidation, "password must be %d to %d bytes", minStaffPassword, maxPasswordLen)
	}
	return nil
}

// parseBirthDate parses a date of birth "YYYY-MM-DD" between 1900 and
// today (today being now's date in UTC).
func parseBirthDate(s string, now time.Time) (time.Time, error) {
	d, err := time.Parse(dateLayout, s)
	if err != nil || len(s) != len(dateLayout) || d.Year() < 1900 || d.After(now.UTC()) {
		return time.Time{}, refuse(ErrValidation, "dateOfBirth must be a date YYYY-MM-DD from 1900 to today")
	}
	return d, nil
}

// weekdayNames are the API's weekday names, indexed by time.Weekday.
func weekdayNames() [7]string {
	return [7]string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}
}

// parseWeekday reads a weekday name ("monday").
func parseWeekday(s string) (time.Weekday, error) {
	for i, n := range weekdayNames() {
		if s == n {
			return time.Weekday(i), nil
		}
	}
	return 0, refuse(ErrValidation, "weekday must be a lower-case day name, e.g. monday")
}

// parseClock reads a local wall-clock time "HH:MM" as minutes after
// midnight; "24:00" only when allowMidnightEnd.
func parseClock(field, s string, allowMidnightEnd bool) (int, error) {
	bad := refuse(ErrValidation, "%s must be a time HH:MM", field)
	if len(s) != 5 || s[2] != ':' || !allDigits(s[:2]) || !allDigits(s[3:]) {
		return 0, bad
	}
	h, m := int(s[0]-'0')*10+int(s[1]-'0'), int(s[3]-'0')*10+int(s[4]-'0')
	if allowMidnightEnd && h == 24 && m == 0 {
		return 24 * 60, nil
	}
	if h > 23 || m > 59 {
		return 0, bad
	}
	return h*60 + m, nil
}

// formatClock writes minutes after midnight as "HH:MM".
func formatClock(minute int) string {
	return string([]byte{byte('0' + minute/600), byte('0' + minute/60%10), ':', byte('0' + minute%60/10), byte('0' + minute%10)})
}

// checkCallTypes checks a set of 1 to 3 distinct call types.
func checkCallTypes(types []CallType) error {
	if len(types) == 0 || len(types) > 3 {
		return refuse(ErrValidation, "callTypes must list 1 to 3 call types")
	}
	seen := map[CallType]bool{}
	for _, t := range types {
		if !t.Valid() {
			return refuse(ErrValidation, "callTypes must be social, legal or probation")
		}
		if seen[t] {
			return refuse(ErrValidation, "call type %s is listed twice", t)
		}
		seen[t] = true
	}
	return nil
}
