package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/internal/app"
)

// Roles errors.
var (
	// ErrUnknownRole is a --roles entry that is not booking, media or turn.
	ErrUnknownRole = errors.New("unknown role (want booking, media, turn or all)")
	// ErrRolesApart asks for booking without media or media without
	// booking, which do not run apart yet.
	ErrRolesApart = errors.New("booking and media run in one process for now: --roles booking,media (add turn for the built-in relay)")
)

// applyRoles sets cfg from --roles: "all" (the default: booking and media,
// with the relay when --turn is set), a comma-separated list of booking,
// media and turn, or "turn" alone (the relay as a node of its own).
func applyRoles(list string, cfg *app.Config) error {
	list = strings.TrimSpace(list)
	if list == "" || list == "all" {
		return nil
	}
	have := map[string]bool{}
	for _, r := range strings.Split(list, ",") {
		r = strings.TrimSpace(r)
		switch r {
		case "booking", "media", "turn":
			have[r] = true
		default:
			return fmt.Errorf("--roles: %q: %w", r, ErrUnknownRole)
		}
	}
	switch {
	case have["booking"] != have["media"]:
		return fmt.Errorf("--roles %s: %w", list, ErrRolesApart)
	case !have["booking"]: // turn alone
		cfg.RelayOnly = true
	case have["turn"]:
		cfg.TURNEnabled = true
	case cfg.TURNEnabled:
		return fmt.Errorf("--roles %s: --turn asks for the relay but the roles do not include turn", list)
	}
	return nil
}
