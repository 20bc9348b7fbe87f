package booking

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// The booking rules' part of the OpenAPI checks: their schemas match their
// Go types, and rulesFlow, run by TestOpenAPIConformance, drives every
// documented status of their operations.

func TestOpenAPIRulesSchemasMatchGoTypes(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	schemas := doc.Components.Schemas
	checkSchemas(t, schemas, []schemaCase{
		{"Settings", Settings{}, true},
		{"Hold", Hold{}, true},
		{"Allowance", Allowance{}, true},
		{"NonAssociation", NonAssociation{}, true},
		{"NonAssociationAdded", NonAssociationAdded{}, true},
		{"Override", Override{}, true},
		{"OutcomeResponse", OutcomeResult{}, true},
		{"Rebooking", Rebooking{}, true},
		{"MoveResponse", MoveResult{}, true},
		{"CreateHoldRequest", HoldRequest{}, false},
		{"NonAssociationRequest", NonAssociationRequest{}, false},
		{"OverrideRequest", Override{}, false},
		{"OutcomeRequest", OutcomeRequest{}, false},
		{"MoveRequest", MoveRequest{}, false},
		{"ReviewRequest", ReviewRequest{}, false},
	})
	// Settings: every field required in the PUT, with the defaults as
	// examples.
	set := schemas["Settings"].Value
	def, _ := json.Marshal(Defaults())
	var defaults map[string]any
	_ = json.Unmarshal(def, &defaults)
	for name, prop := range set.Properties {
		if !slices.Contains(set.Required, name) {
			t.Errorf("Settings.%s is not required", name)
		}
		if prop.Value.Example != nil && fmt.Sprint(prop.Value.Example) != fmt.Sprint(defaults[name]) {
			t.Errorf("Settings.%s example %v, but the default is %v", name, prop.Value.Example, defaults[name])
		}
	}
	// Enums.
	for name, want := range map[string][]string{
		"ReviewAction":                  {string(ReviewKeep), string(ReviewCancel)},
		"OutcomeRequest.status":         {string(StatusCompleted), string(StatusNoShow), string(StatusTerminated), string(StatusFailed)},
		"MoveRequest.status":            {string(PrisonerReleased), string(PrisonerTransferred)},
		"CreateBookingRequest.maxItems": {fmt.Sprint(MaxContactsLimit)},
	} {
		var got []string
		switch schema, field, _ := strings.Cut(name, "."); {
		case field == "":
			got = enumOf(schemas[schema].Value)
		case field == "maxItems":
			got = []string{fmt.Sprint(*schemas[schema].Value.Properties["contactIds"].Value.MaxItems)}
		default:
			got = enumOf(schemas[schema].Value.Properties[field].Value)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: openapi.json has %v, the code %v", name, got, want)
		}
	}
}

// rulesFlow exercises the booking-rules operations: settings, holds,
// allowances, non-associations, outcomes, moves and reviews, with a refusal
// of every documented status.
func (c *conformance) rulesFlow() {
	t, e := c.t, c.e
	t.Helper()
	const get, post, put, del = http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete
	admin, clerk, sec := bearer(e.token("admin")), bearer(e.token("clerk")), bearer(e.token("security"))
	// big pads a valid body past the size limit.
	big := func(v any) string {
		raw, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return `{` + strings.Repeat(" ", MaxBodyBytes) + string(raw[1:])
	}
	runAll := func(method, path string, auth func(*http.Request), xs []exchange) {
		for _, x := range xs {
			if x.method == "" {
				x.method = method
			}
			if x.path == "" {
				x.path = path
			}
			if x.auth == nil {
				x.auth = auth
			}
			c.run(x)
		}
	}

	// Settings.
	settings := fmt.Sprintf("/api/v1/prisons/%d/settings", e.demo.PrisonID)
	loose := Defaults()
	loose.MaxAdults = 5
	tooMany := Defaults()
	tooMany.MaxVisitors = MaxContactsLimit + 1
	runAll(get, settings, admin, []exchange{
		{name: "settings", status: 200},
		{name: "settings as clerk", auth: clerk, status: 403, code: "forbidden"},
		{name: "settings unknown prison", path: "/api/v1/prisons/999999/settings", status: 404, code: "not_found"},
		{name: "settings bad id", path: "/api/v1/prisons/x/settings", status: 400, code: "validation", docRejects: true},
	})
	runAll(put, settings, admin, []exchange{
		{name: "put settings", body: Defaults(), status: 200},
		{name: "put settings out of bounds", body: tooMany, status: 400, code: "validation", docRejects: true},
		{name: "put settings inconsistent", body: loose, status: 400, code: "validation"},
		{name: "put settings missing field", body: `{"maxDaysAhead":28}`, status: 400, code: "validation", docRejects: true},
		{name: "put settings as clerk", auth: clerk, body: Defaults(), status: 403, code: "forbidden"},
		{name: "put settings unknown prison", path: "/api/v1/prisons/999999/settings", body: Defaults(), status: 404, code: "not_found"},
		{name: "put settings too large", body: big(Defaults()), status: 413, code: "request_too_large"},
	})

	// Two more prisoners and a one-place room on Mondays.
	pid2, cid2 := e.addPrisoner(e.demo.PrisonID, "K7001KA", ContactSocial)
	pid3, cid3 := e.addPrisoner(e.demo.PrisonID, "K7002KB", ContactSocial)
	tpl := e.addRoom("Conformance room", time.Monday, 10*60, 12*60, 30, 1, CallSocial)
	slot := slotID(tpl, "2026-11-30", "10:00")

	// Holds.
	res := c.run(exchange{name: "hold", method: post, path: "/api/v1/holds", auth: clerk,
		body: HoldRequest{SlotID: slot, PrisonerID: pid2}, status: 201})
	var h Hold
	if err := json.Unmarshal(res.body, &h); err != nil {
		t.Fatal(err)
	}
	runAll(post, "/api/v1/holds", clerk, []exchange{
		{name: "hold full slot", body: HoldRequest{SlotID: slot, PrisonerID: pid3}, status: 409, code: "slot_full"},
		{name: "hold no such slot", body: HoldRequest{SlotID: "999999-20261130-1000", PrisonerID: pid3}, status: 404, code: "slot_not_found"},
		{name: "hold too far ahead", body: HoldRequest{SlotID: slotID(tpl, "2026-12-28", "10:00"), PrisonerID: pid3}, status: 422, code: "outside_booking_window"},
		{name: "hold as security", auth: sec, body: HoldRequest{SlotID: slot, PrisonerID: pid3}, status: 403, code: "forbidden"},
		{name: "hold no prisoner", body: map[string]string{"slotId": slot}, status: 400, code: "validation", docRejects: true},
		{name: "hold too large", body: big(HoldRequest{SlotID: slot, PrisonerID: pid3}), status: 413, code: "request_too_large"},
	})
	holdPath := "/api/v1/holds/" + itoa(h.ID)
	runAll(del, holdPath, clerk, []exchange{
		{name: "release hold as security", auth: sec, status: 403, code: "forbidden"},
		{name: "release hold", status: 204},
		{name: "release hold again", status: 404, code: "hold_not_found"},
		{name: "release hold bad id", path: "/api/v1/holds/0", status: 400, code: "validation", docRejects: true},
	})

	// Bookings with a hold and an override, and the allowance.
	res = c.run(exchange{name: "hold again", method: post, path: "/api/v1/holds", auth: clerk,
		body: HoldRequest{SlotID: slot, PrisonerID: pid2}, status: 201})
	if err := json.Unmarshal(res.body, &h); err != nil {
		t.Fatal(err)
	}
	res = c.run(exchange{name: "book with hold", method: post, path: "/api/v1/bookings", auth: clerk, status: 201,
		body: CreateRequest{PrisonerID: pid2, SlotID: slot, CallType: CallSocial, ContactIDs: []int64{cid2}, HoldID: h.ID}})
	var held Booking
	if err := json.Unmarshal(res.body, &held); err != nil {
		t.Fatal(err)
	}
	override := &Override{Capacity: true, Reason: "family travelling from abroad"}
	runAll(post, "/api/v1/bookings", clerk, []exchange{
		{name: "book used hold", body: CreateRequest{PrisonerID: pid3, SlotID: slot, CallType: CallSocial, ContactIDs: []int64{cid3}, HoldID: h.ID}, status: 404, code: "hold_not_found"},
		{name: "book override", body: CreateRequest{PrisonerID: pid3, SlotID: slot, CallType: CallSocial, ContactIDs: []int64{cid3}, Override: override}, status: 201},
		{name: "book override without reason", body: `{"prisonerId":1,"slotId":"1-20261130-1000","callType":"social","contactIds":[1],"override":{"capacity":true}}`, status: 400, code: "validation", docRejects: true},
		{name: "book eleven contacts", body: CreateRequest{PrisonerID: pid3, SlotID: slot, CallType: CallSocial, ContactIDs: []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}}, status: 400, code: "validation", docRejects: true},
	})
	allowance := fmt.Sprintf("/api/v1/prisoners/%d/allowance", pid2)
	runAll(get, allowance, clerk, []exchange{
		{name: "allowance", status: 200},
		{name: "allowance of a month", path: allowance + "?month=2026-11", status: 200},
		{name: "allowance bad month", path: allowance + "?month=2026-13", status: 400, code: "validation", docRejects: true},
		{name: "allowance unknown prisoner", path: "/api/v1/prisoners/999999/allowance", status: 404, code: "prisoner_not_found"},
	})

	// Non-associations.
	nonAssoc := fmt.Sprintf("/api/v1/prisoners/%d/non-associations", pid2)
	pair := NonAssociationRequest{OtherPrisonerID: pid3, Reason: "gang conflict"}
	runAll(post, nonAssoc, admin, []exchange{
		{name: "non-association", body: pair, status: 201},
		{name: "non-association again", body: pair, status: 409, code: "already_exists"},
		{name: "non-association as clerk", auth: clerk, body: pair, status: 403, code: "forbidden"},
		{name: "non-association unknown other", body: NonAssociationRequest{OtherPrisonerID: 999999, Reason: "x"}, status: 404, code: "prisoner_not_found"},
		{name: "non-association self", body: NonAssociationRequest{OtherPrisonerID: pid2, Reason: "x"}, status: 400, code: "validation"},
		{name: "non-association too large", body: big(pair), status: 413, code: "request_too_large"},
	})
	runAll(get, nonAssoc, admin, []exchange{
		{name: "non-associations", status: 200},
		{name: "non-associations as clerk", auth: clerk, status: 403, code: "forbidden"},
		{name: "non-associations unknown prisoner", path: "/api/v1/prisoners/999999/non-associations", status: 404, code: "prisoner_not_found"},
		{name: "non-associations bad id", path: "/api/v1/prisoners/-1/non-associations", status: 400, code: "validation", docRejects: true},
	})
	runAll(del, nonAssoc, admin, []exchange{
		{name: "remove non-association as clerk", auth: clerk, body: pair, status: 403, code: "forbidden"},
		{name: "remove non-association", body: pair, status: 204},
		{name: "remove non-association again", body: pair, status: 404, code: "not_found"},
		{name: "remove non-association no reason", body: map[string]int64{"otherPrisonerId": pid3}, status: 400, code: "validation", docRejects: true},
		{name: "remove non-association too large", body: big(pair), status: 413, code: "request_too_large"},
	})

	// Outcomes: a call in progress now (Demo room, 08:00).
	now := e.slot("2026-11-23", "08:00", "Demo room")
	res = c.run(exchange{name: "book call in progress", method: post, path: "/api/v1/bookings", auth: clerk, status: 201,
		body: CreateRequest{PrisonerID: pid3, SlotID: now.ID, CallType: CallSocial, ContactIDs: []int64{cid3}}})
	var live Booking
	if err := json.Unmarshal(res.body, &live); err != nil {
		t.Fatal(err)
	}
	outcome := fmt.Sprintf("/api/v1/bookings/%d/outcome", live.ID)
	runAll(post, outcome, clerk, []exchange{
		{name: "outcome completed", body: OutcomeRequest{Status: StatusCompleted, Reason: "went well"}, status: 200},
		{name: "outcome completed again", body: OutcomeRequest{Status: StatusCompleted, Reason: "again"}, status: 409, code: "invalid_transition"},
		{name: "outcome corrected to failed", body: OutcomeRequest{Status: StatusFailed, Reason: "video froze"}, status: 200},
		{name: "outcome of a future call", path: fmt.Sprintf("/api/v1/bookings/%d/outcome", held.ID), body: OutcomeRequest{Status: StatusNoShow, Reason: "x"}, status: 422, code: "outside_outcome_window"},
		{name: "outcome as security", auth: sec, body: OutcomeRequest{Status: StatusFailed, Reason: "x"}, status: 403, code: "forbidden"},
		{name: "outcome unknown booking", path: "/api/v1/bookings/999999/outcome", body: OutcomeRequest{Status: StatusFailed, Reason: "x"}, status: 404, code: "not_found"},
		{name: "outcome cancelled", body: OutcomeRequest{Status: StatusCancelled, Reason: "x"}, status: 400, code: "validation", docRejects: true},
		{name: "outcome too large", body: big(OutcomeRequest{Status: StatusFailed, Reason: "x"}), status: 413, code: "request_too_large"},
	})

	// A release, the review queue and reviews.
	move := fmt.Sprintf("/api/v1/prisoners/%d/move", pid2)
	runAll(post, move, clerk, []exchange{
		{name: "move as security", auth: sec, body: MoveRequest{Status: PrisonerReleased, Reason: "x"}, status: 403, code: "forbidden"},
		{name: "move released with a prison", body: MoveRequest{Status: PrisonerReleased, ToPrisonID: 1, Reason: "x"}, status: 400, code: "validation"},
		{name: "move bad status", body: MoveRequest{Status: PrisonerActive, Reason: "x"}, status: 400, code: "validation", docRejects: true},
		{name: "move unknown prisoner", path: "/api/v1/prisoners/999999/move", body: MoveRequest{Status: PrisonerReleased, Reason: "x"}, status: 404, code: "prisoner_not_found"},
		{name: "move too large", body: big(MoveRequest{Status: PrisonerReleased, Reason: "x"}), status: 413, code: "request_too_large"},
		{name: "move", body: MoveRequest{Status: PrisonerReleased, Reason: "end of sentence"}, status: 200},
		{name: "move again", body: MoveRequest{Status: PrisonerReleased, Reason: "again"}, status: 409, code: "invalid_transition"},
	})
	c.run(exchange{name: "review queue", method: get, path: "/api/v1/bookings?needsReview=true", auth: clerk, status: 200})
	c.run(exchange{name: "review queue bad flag", method: get, path: "/api/v1/bookings?needsReview=yes", auth: clerk, status: 400, code: "validation", docRejects: true})
	review := fmt.Sprintf("/api/v1/bookings/%d/review", held.ID)
	runAll(post, review, clerk, []exchange{
		{name: "review keep released", body: ReviewRequest{Action: ReviewKeep, Reason: "x"}, status: 422, code: "prisoner_inactive"},
		{name: "review as security", auth: sec, body: ReviewRequest{Action: ReviewCancel, Reason: "x"}, status: 403, code: "forbidden"},
		{name: "review unknown booking", path: "/api/v1/bookings/999999/review", body: ReviewRequest{Action: ReviewCancel, Reason: "x"}, status: 404, code: "not_found"},
		{name: "review bad action", body: ReviewRequest{Action: "ignore", Reason: "x"}, status: 400, code: "validation", docRejects: true},
		{name: "review too large", body: big(ReviewRequest{Action: ReviewCancel, Reason: "x"}), status: 413, code: "request_too_large"},
		{name: "review cancel", body: ReviewRequest{Action: ReviewCancel, Reason: "prisoner released"}, status: 200},
		{name: "review again", body: ReviewRequest{Action: ReviewCancel, Reason: "again"}, status: 409, code: "invalid_transition"},
	})
}
