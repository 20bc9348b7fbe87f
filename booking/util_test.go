package booking

import (
	"strconv"

	"github.com/gatehouse/gatehouse/auth"
)

func itoa(id int64) string { return strconv.FormatInt(id, 10) }

func hashForTest(pw string) (string, error) { return auth.HashPassword(pw) }
