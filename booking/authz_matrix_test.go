package booking

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
)

// The authorization matrix: for every route of the API (the route table
// NewAPI serves, so that a new route without a row fails here), the status
// each kind of caller gets, for targets in their own prison, off a
// probation officer's caseload and in another prison. Each attempt is made
// with a bearer token and with the session cookie and its CSRF token, on a
// target of its own; an allowed write must be written (and audited), and
// a refused request, or a read, must leave every table as it was. Unsafe
// requests with the cookie but without the CSRF token are refused (403
// csrf) for everyone, and requests without credentials are 401 but on the
// public routes.

// caller is one kind of API caller.
type caller string

// The callers: no credentials, and a staff member of each role, all of the
// demo prison.
const (
	anonymous   caller = "anonymous"
	byAdmin     caller = "admin"
	byClerk     caller = "clerk"
	byProbation caller = "probation"
	bySecurity  caller = "security"
)

// staffCallers are the callers with a session, in the order of the
// matrix's columns.
func staffCallers() []caller { return []caller{byAdmin, byClerk, byProbation, bySecurity} }

// scope is where a request's target is, relative to the staff callers.
type scope string

// The scopes.
const (
	// ownPrison: the callers' prison, and a prisoner on the probation
	// officer's caseload (for the caseload itself: the officer's own).
	ownPrison scope = "own prison"
	// offCaseload: the callers' prison, a prisoner not on the caseload (for
	// the caseload itself: another officer's).
	offCaseload scope = "off the caseload"
	// otherPrison: a prison only the admin can see.
	otherPrison scope = "other prison"
)

// attempt is one concrete request.
type attempt struct {
	path string
	body any
}

// authzRow is one route of the matrix.
type authzRow struct {
	method, route string
	// public routes need no credentials (they answer anonymous callers
	// as they answer staff).
	public bool
	// auditedRead: a read that audits who read it, so that an allowed one
	// writes to the audit log, and nowhere else.
	auditedRead bool
	// make builds a fresh target in the scope for one attempt.
	make func(f *authzFixture, sc scope) attempt
	// want is, per scope tried, the status of each staff caller.
	want map[scope]map[caller]int
}

// st gives the statuses of the admin, clerk, probation officer and
// security officer, in that order.
func st(admin, clerk, probation, security int) map[caller]int {
	return map[caller]int{byAdmin: admin, byClerk: clerk, byProbation: probation, bySecurity: security}
}

// allRead: everyone of the prison reads it; another prison is not found.
func allRead() map[scope]map[caller]int {
	return map[scope]map[caller]int{ownPrison: st(200, 200, 200, 200), otherPrison: st(200, 404, 404, 404)}
}

// adminOnly: admins only, wherever the target is.
func adminOnly(status int) map[scope]map[caller]int {
	return map[scope]map[caller]int{ownPrison: st(status, 403, 403, 403), otherPrison: st(status, 403, 403, 403)}
}

// at builds an attempt from a path format.
func at(body any, format string, args ...any) attempt {
	return attempt{path: fmt.Sprintf(format, args...), body: body}
}

// authzRows is the matrix, one row per route.
func authzRows() []authzRow {
	yes, no := true, false
	prison := func(f *authzFixture, sc scope) int64 { return f.prisonOf(sc) }
	prisoner := func(f *authzFixture, sc scope) int64 { p, _ := f.prisoner(sc); return p }
	return []authzRow{
		{method: "GET", route: "/api/v1/openapi.json", public: true,
			make: func(*authzFixture, scope) attempt { return at(nil, "/api/v1/openapi.json") },
			want: map[scope]map[caller]int{ownPrison: st(200, 200, 200, 200)}},
		{method: "POST", route: "/api/v1/auth/login", public: true,
			make: func(*authzFixture, scope) attempt {
				return at(loginRequest{Username: "security", Password: "demo-security-pass"}, "/api/v1/auth/login")
			},
			want: map[scope]map[caller]int{ownPrison: st(200, 200, 200, 200)}},
		{method: "POST", route: "/api/v1/auth/logout",
			make: func(*authzFixture, scope) attempt { return at(nil, "/api/v1/auth/logout") },
			want: map[scope]map[caller]int{ownPrison: st(204, 204, 204, 204)}},
		{method: "GET", route: "/api/v1/me",
			make: func(*authzFixture, scope) attempt { return at(nil, "/api/v1/me") },
			want: map[scope]map[caller]int{ownPrison: st(200, 200, 200, 200)}},
		{method: "GET", route: "/api/v1/prisons",
			make: func(*authzFixture, scope) attempt { return at(nil, "/api/v1/prisons") },
			want: map[scope]map[caller]int{ownPrison: st(200, 200, 200, 200)}},
		{method: "GET", route: "/api/v1/prisons/{prisonId}/slots",
			make: func(f *authzFixture, sc scope) attempt {
				return at(nil, "/api/v1/prisons/%d/slots?from=2026-11-24&to=2026-11-24", prison(f, sc))
			},
			want: allRead()},
		{method: "GET", route: "/api/v1/prisons/{prisonId}/prisoners",
			make: func(f *authzFixture, sc scope) attempt { return at(nil, "/api/v1/prisons/%d/prisoners", prison(f, sc)) },
			want: allRead()},
		{method: "GET", route: "/api/v1/prisoners/{prisonerId}/contacts",
			make: func(f *authzFixture, sc scope) attempt {
				return at(nil, "/api/v1/prisoners/%d/contacts", prisoner(f, sc))
			},
			want: map[scope]map[caller]int{ownPrison: st(200, 200, 200, 200), offCaseload: st(200, 200, 404, 200),
				otherPrison: st(200, 404, 404, 404)}},
		{method: "GET", route: "/api/v1/bookings",
			make: func(f *authzFixture, sc scope) attempt {
				return at(nil, "/api/v1/bookings?prisonId=%d&from=2026-11-24&to=2026-11-24", prison(f, sc))
			},
			want: allRead()},
		{method: "POST", route: "/api/v1/bookings",
			make: func(f *authzFixture, sc scope) attempt {
				p, c := f.prisoner(sc)
				return at(CreateRequest{PrisonerID: p, SlotID: f.nextSlot(f.prisonOf(sc)).String(), CallType: CallProbation,
					ContactIDs: []int64{c}}, "/api/v1/bookings")
			},
			want: map[scope]map[caller]int{ownPrison: st(201, 201, 201, 403), offCaseload: st(201, 201, 404, 403),
				otherPrison: st(201, 404, 404, 403)}},
		{method: "GET", route: "/api/v1/bookings/{id}",
			make: func(f *authzFixture, sc scope) attempt {
				return at(nil, "/api/v1/bookings/%d", f.booking(sc, false).ID)
			},
			want: map[scope]map[caller]int{ownPrison: st(200, 200, 200, 200), offCaseload: st(200, 200, 404, 200),
				otherPrison: st(200, 404, 404, 404)}},
		{method: "POST", route: "/api/v1/bookings/{id}/cancel",
			make: func(f *authzFixture, sc scope) attempt {
				return at(cancelRequest{Reason: "matrix"}, "/api/v1/bookings/%d/cancel", f.booking(sc, false).ID)
			},
			want: manageBooking(200)},
		{method: "POST", route: "/api/v1/bookings/{id}/outcome",
			make: func(f *authzFixture, sc scope) attempt {
				return at(OutcomeRequest{Status: StatusCompleted, Reason: "went well"}, "/api/v1/bookings/%d/outcome", f.booking(sc, true).ID)
			},
			want: manageBooking(200)},
		{method: "POST", route: "/api/v1/bookings/{id}/review",
			make: func(f *authzFixture, sc scope) attempt {
				return at(ReviewRequest{Action: "keep", Reason: "still here"}, "/api/v1/bookings/%d/review", f.flagged(sc).ID)
			},
			want: manageBooking(200)},
		{method: "POST", route: "/api/v1/holds",
			make: func(f *authzFixture, sc scope) attempt {
				return at(HoldRequest{SlotID: f.nextSlot(f.prisonOf(sc)).String(), PrisonerID: prisoner(f, sc)}, "/api/v1/holds")
			},
			want: map[scope]map[caller]int{ownPrison: st(201, 201, 201, 403), offCaseload: st(201, 201, 404, 403),
				otherPrison: st(201, 404, 404, 404)}},
		{method: "DELETE", route: "/api/v1/holds/{id}",
			make: func(f *authzFixture, sc scope) attempt { return at(nil, "/api/v1/holds/%d", f.hold(sc)) },
			// Whoever made a hold, clerks and admins may release it.
			want: map[scope]map[caller]int{ownPrison: st(204, 204, 403, 403), otherPrison: st(204, 404, 404, 404)}},
		{method: "GET", route: "/api/v1/prisons/{prisonId}/settings",
			make: func(f *authzFixture, sc scope) attempt { return at(nil, "/api/v1/prisons/%d/settings", prison(f, sc)) },
			want: map[scope]map[caller]int{ownPrison: st(200, 403, 403, 403), otherPrison: st(200, 404, 404, 404)}},
		{method: "PUT", route: "/api/v1/prisons/{prisonId}/settings",
			make: func(f *authzFixture, sc scope) attempt {
				return at(Defaults(), "/api/v1/prisons/%d/settings", prison(f, sc))
			},
			want: map[scope]map[caller]int{ownPrison: st(200, 403, 403, 403), otherPrison: st(200, 404, 404, 404)}},
		{method: "GET", route: "/api/v1/prisoners/{prisonerId}/allowance",
			make: func(f *authzFixture, sc scope) attempt {
				return at(nil, "/api/v1/prisoners/%d/allowance", prisoner(f, sc))
			},
			want: map[scope]map[caller]int{ownPrison: st(200, 200, 200, 200), offCaseload: st(200, 200, 404, 200),
				otherPrison: st(200, 404, 404, 404)}},
		{method: "GET", route: "/api/v1/prisoners/{prisonerId}/non-associations",
			make: func(f *authzFixture, sc scope) attempt {
				return at(nil, "/api/v1/prisoners/%d/non-associations", prisoner(f, sc))
			},
			want: adminOnly(200)},
		{method: "POST", route: "/api/v1/prisoners/{prisonerId}/non-associations",
			make: func(f *authzFixture, sc scope) attempt {
				return at(NonAssociationRequest{OtherPrisonerID: prisoner(f, sc), Reason: "threats"},
					"/api/v1/prisoners/%d/non-associations", prisoner(f, sc))
			},
			want: adminOnly(201)},
		{method: "DELETE", route: "/api/v1/prisoners/{prisonerId}/non-associations",
			make: func(f *authzFixture, sc scope) attempt {
				a, b := f.nonAssociated(sc)
				return at(NonAssociationRequest{OtherPrisonerID: b, Reason: "resolved"}, "/api/v1/prisoners/%d/non-associations", a)
			},
			want: adminOnly(204)},
		{method: "POST", route: "/api/v1/prisoners/{prisonerId}/move",
			make: func(f *authzFixture, sc scope) attempt {
				return at(MoveRequest{Status: PrisonerReleased, Reason: "sentence served"}, "/api/v1/prisoners/%d/move", prisoner(f, sc))
			},
			want: map[scope]map[caller]int{ownPrison: st(200, 200, 403, 403), otherPrison: st(200, 404, 403, 403)}},

		// Administration.
		{method: "POST", route: "/api/v1/prisons",
			make: func(f *authzFixture, _ scope) attempt {
				return at(prisonRequest{Code: fmt.Sprintf("M%d", f.next()), Name: "HMP Matrix"}, "/api/v1/prisons")
			},
			want: map[scope]map[caller]int{ownPrison: st(201, 403, 403, 403)}},
		{method: "PUT", route: "/api/v1/prisons/{prisonId}",
			make: func(f *authzFixture, sc scope) attempt {
				p, err := f.e.store.Prison(f.e.ctx, prison(f, sc))
				if err != nil {
					f.t.Fatal(err)
				}
				return at(prisonUpdate{Name: p.Name, Timezone: p.Timezone}, "/api/v1/prisons/%d", p.ID)
			},
			want: adminOnly(200)},
		{method: "GET", route: "/api/v1/prisons/{prisonId}/rooms",
			make: func(f *authzFixture, sc scope) attempt { return at(nil, "/api/v1/prisons/%d/rooms", prison(f, sc)) },
			want: allRead()},
		{method: "POST", route: "/api/v1/prisons/{prisonId}/rooms",
			make: func(f *authzFixture, sc scope) attempt {
				return at(roomRequest{Name: fmt.Sprintf("New room %d", f.next())}, "/api/v1/prisons/%d/rooms", prison(f, sc))
			},
			want: adminOnly(201)},
		{method: "PUT", route: "/api/v1/rooms/{id}",
			make: func(f *authzFixture, sc scope) attempt {
				return at(roomRequest{Name: fmt.Sprintf("Renamed %d", f.next())}, "/api/v1/rooms/%d", f.newRoom(sc))
			},
			want: adminOnly(200)},
		{method: "DELETE", route: "/api/v1/rooms/{id}",
			make: func(f *authzFixture, sc scope) attempt { return at(nil, "/api/v1/rooms/%d", f.newRoom(sc)) },
			want: adminOnly(204)},
		{method: "GET", route: "/api/v1/prisons/{prisonId}/slot-templates",
			make: func(f *authzFixture, sc scope) attempt {
				return at(nil, "/api/v1/prisons/%d/slot-templates", prison(f, sc))
			},
			want: allRead()},
		{method: "POST", route: "/api/v1/prisons/{prisonId}/slot-templates",
			make: func(f *authzFixture, sc scope) attempt {
				return at(templateRequest{RoomID: f.newRoom(sc), Weekday: "friday", Start: "10:00", End: "11:00", SlotMinutes: 30,
					Capacity: 1, CallTypes: []CallType{CallLegal}, RepeatWeeks: 2, ValidFrom: "2026-12-04"},
					"/api/v1/prisons/%d/slot-templates", prison(f, sc))
			},
			want: adminOnly(201)},
		{method: "PUT", route: "/api/v1/slot-templates/{id}",
			make: func(f *authzFixture, sc scope) attempt {
				return at(templateUpdate{Capacity: 2, CallTypes: []CallType{CallLegal}}, "/api/v1/slot-templates/%d", f.template(sc))
			},
			want: adminOnly(200)},
		{method: "DELETE", route: "/api/v1/slot-templates/{id}",
			make: func(f *authzFixture, sc scope) attempt { return at(nil, "/api/v1/slot-templates/%d", f.template(sc)) },
			want: adminOnly(204)},
		{method: "GET", route: "/api/v1/prisons/{prisonId}/excluded-dates",
			make: func(f *authzFixture, sc scope) attempt {
				return at(nil, "/api/v1/prisons/%d/excluded-dates", prison(f, sc))
			},
			want: allRead()},
		{method: "POST", route: "/api/v1/prisons/{prisonId}/excluded-dates",
			make: func(f *authzFixture, sc scope) attempt {
				date := day(f.t, "2027-06-01").AddDate(0, 0, f.next()).Format(dateLayout)
				return at(excludedRequest{Date: date, Reason: "matrix"}, "/api/v1/prisons/%d/excluded-dates", prison(f, sc))
			},
			want: adminOnly(201)},
		{method: "DELETE", route: "/api/v1/excluded-dates/{id}",
			make: func(f *authzFixture, sc scope) attempt { return at(nil, "/api/v1/excluded-dates/%d", f.excluded(sc)) },
			want: adminOnly(204)},
		{method: "POST", route: "/api/v1/prisons/{prisonId}/prisoners",
			make: func(f *authzFixture, sc scope) attempt {
				return at(prisonerRequest{Number: fmt.Sprintf("N%04dAA", f.next()), Name: "New Prisoner"},
					"/api/v1/prisons/%d/prisoners", prison(f, sc))
			},
			want: adminOnly(201)},
		{method: "PUT", route: "/api/v1/prisoners/{prisonerId}",
			make: func(f *authzFixture, sc scope) attempt {
				return at(prisonerUpdate{Name: "Moved Prisoner", Location: ptr("C-1-01")}, "/api/v1/prisoners/%d", prisoner(f, sc))
			},
			want: adminOnly(200)},
		{method: "POST", route: "/api/v1/contacts",
			make: func(f *authzFixture, _ scope) attempt {
				return at(contactRequest{Name: "New Contact", Kind: ContactLegal}, "/api/v1/contacts")
			},
			want: map[scope]map[caller]int{ownPrison: st(201, 403, 403, 403)}},
		{method: "POST", route: "/api/v1/prisoners/{prisonerId}/contacts",
			make: func(f *authzFixture, sc scope) attempt {
				return at(linkRequest{ContactID: f.contact(), Relationship: "friend", Approved: &yes, Banned: &no},
					"/api/v1/prisoners/%d/contacts", prisoner(f, sc))
			},
			want: adminOnly(201)},
		{method: "PUT", route: "/api/v1/prisoners/{prisonerId}/contacts/{id}",
			make: func(f *authzFixture, sc scope) attempt {
				p, c := f.prisoner(sc)
				return at(linkUpdate{Relationship: "adviser", Approved: &yes, Banned: &yes}, "/api/v1/prisoners/%d/contacts/%d", p, c)
			},
			want: adminOnly(200)},
		{method: "GET", route: "/api/v1/staff",
			make: func(*authzFixture, scope) attempt { return at(nil, "/api/v1/staff") },
			want: map[scope]map[caller]int{ownPrison: st(200, 403, 403, 403)}},
		{method: "POST", route: "/api/v1/staff",
			make: func(f *authzFixture, sc scope) attempt {
				return at(staffRequest{Username: fmt.Sprintf("new.clerk.%d", f.next()), Name: "New Clerk", Role: StaffClerk,
					PrisonID: prison(f, sc), Password: "a-long-enough-password"}, "/api/v1/staff")
			},
			want: adminOnly(201)},
		{method: "PUT", route: "/api/v1/staff/{id}",
			make: func(f *authzFixture, sc scope) attempt {
				s := f.newStaff(StaffClerk, prison(f, sc))
				return at(staffUpdate{Name: "Promoted", Role: StaffSecurity, PrisonID: s.PrisonID}, "/api/v1/staff/%d", s.ID)
			},
			want: adminOnly(200)},
		{method: "POST", route: "/api/v1/staff/{id}/disable",
			make: func(f *authzFixture, sc scope) attempt {
				return at(nil, "/api/v1/staff/%d/disable", f.newStaff(StaffClerk, prison(f, sc)).ID)
			},
			want: adminOnly(200)},
		{method: "GET", route: "/api/v1/staff/{id}/caseload",
			make: func(f *authzFixture, sc scope) attempt {
				if sc == offCaseload {
					return at(nil, "/api/v1/staff/%d/caseload", f.otherOfficer.ID)
				}
				return at(nil, "/api/v1/staff/%d/caseload", f.officer[f.prisonOf(sc)].ID)
			},
			// The officer reads their own caseload, nobody else's.
			want: map[scope]map[caller]int{ownPrison: st(200, 403, 200, 403), offCaseload: st(200, 403, 403, 403),
				otherPrison: st(200, 403, 403, 403)}},
		{method: "POST", route: "/api/v1/staff/{id}/caseload",
			make: func(f *authzFixture, sc scope) attempt {
				return at(caseloadRequest{PrisonerID: prisoner(f, offCaseload)}, "/api/v1/staff/%d/caseload", f.otherOfficer.ID)
			},
			want: map[scope]map[caller]int{ownPrison: st(201, 403, 403, 403)}},
		{method: "DELETE", route: "/api/v1/staff/{id}/caseload/{prisonerId}",
			make: func(f *authzFixture, sc scope) attempt {
				return at(nil, "/api/v1/staff/%d/caseload/%d", f.officer[f.prisonOf(sc)].ID, prisoner(f, sc))
			},
			want: adminOnly(204)},
		{method: "GET", route: "/api/v1/prisons/{prisonId}/devices",
			make: func(f *authzFixture, sc scope) attempt { return at(nil, "/api/v1/prisons/%d/devices", prison(f, sc)) },
			want: allRead()},
		{method: "POST", route: "/api/v1/prisons/{prisonId}/devices",
			make: func(f *authzFixture, sc scope) attempt {
				return at(deviceRequest{Name: fmt.Sprintf("Tablet %d", f.next()), Location: "B-2-14", Kind: DeviceInCell},
					"/api/v1/prisons/%d/devices", prison(f, sc))
			},
			want: adminOnly(201)},
		{method: "POST", route: "/api/v1/devices/{id}/disable",
			make: func(f *authzFixture, sc scope) attempt { return at(nil, "/api/v1/devices/%d/disable", f.device(sc)) },
			want: adminOnly(200)},

		// Monitoring and recordings.
		{method: "GET", route: "/api/v1/monitor/calls",
			make: func(*authzFixture, scope) attempt { return at(nil, "/api/v1/monitor/calls") },
			want: map[scope]map[caller]int{ownPrison: st(403, 403, 403, 200)}},
		{method: "POST", route: "/api/v1/monitor/calls/{id}/watch",
			make: func(f *authzFixture, sc scope) attempt {
				return at(nil, "/api/v1/monitor/calls/%d/watch", f.booking(sc, true).ID)
			},
			want: monitorCall()},
		{method: "POST", route: "/api/v1/monitor/calls/{id}/actions",
			make: func(f *authzFixture, sc scope) attempt {
				return at(StaffAction{Action: ActionEnd, Reason: "matrix"}, "/api/v1/monitor/calls/%d/actions", f.booking(sc, true).ID)
			},
			want: monitorCall()},
		{method: "PUT", route: "/api/v1/bookings/{id}/sight-only",
			make: func(f *authzFixture, sc scope) attempt {
				return at(SightOnlyRequest{Enabled: &yes, Reason: "matrix"}, "/api/v1/bookings/%d/sight-only", f.legalCall(sc).ID)
			},
			// Probation officers never see legal calls.
			want: map[scope]map[caller]int{ownPrison: st(200, 403, 404, 200), otherPrison: st(200, 404, 404, 404)}},
		{method: "GET", route: "/api/v1/recordings",
			make: func(f *authzFixture, sc scope) attempt {
				return at(nil, "/api/v1/recordings?prisonId=%d", prison(f, sc))
			},
			want: manageRecordings(200)},
		{method: "GET", route: "/api/v1/recordings/{id}", auditedRead: true,
			make: func(f *authzFixture, sc scope) attempt {
				return at(nil, "/api/v1/recordings/%d", f.recording(sc, false))
			},
			want: playRecordings()},
		{method: "GET", route: "/api/v1/recordings/{id}/files/{name}", auditedRead: true,
			make: func(f *authzFixture, sc scope) attempt {
				return at(nil, "/api/v1/recordings/%d/files/matrix.webm", f.recording(sc, false))
			},
			want: playRecordings()},
		{method: "PUT", route: "/api/v1/recordings/{id}/hold",
			make: func(f *authzFixture, sc scope) attempt {
				return at(RecordingHoldRequest{Reason: "matrix"}, "/api/v1/recordings/%d/hold", f.recording(sc, false))
			},
			want: manageRecordings(200)},
		{method: "DELETE", route: "/api/v1/recordings/{id}/hold",
			make: func(f *authzFixture, sc scope) attempt {
				return at(RecordingHoldRequest{Reason: "matrix"}, "/api/v1/recordings/%d/hold", f.recording(sc, true))
			},
			want: manageRecordings(200)},
	}
}

// monitorCall: who may watch and act on a call in progress — security
// officers of its prison; the others who can see it are refused, those who
// cannot are told it is not there.
func monitorCall() map[scope]map[caller]int {
	return map[scope]map[caller]int{ownPrison: st(403, 403, 403, 200), offCaseload: st(403, 403, 404, 200),
		otherPrison: st(403, 404, 404, 404)}
}

// manageRecordings: who may list recordings and hold them — security
// officers and admins who can see the prison.
func manageRecordings(status int) map[scope]map[caller]int {
	return map[scope]map[caller]int{ownPrison: st(status, 403, 403, status), otherPrison: st(status, 404, 404, 404)}
}

// playRecordings: who may view and play recordings — security officers of
// their prison only.
func playRecordings() map[scope]map[caller]int {
	return map[scope]map[caller]int{ownPrison: st(403, 403, 403, 200), otherPrison: st(403, 404, 404, 404)}
}

// manageBooking: who may act on a booking (cancel, outcome, review) —
// admins anywhere, clerks at their prison, probation officers on their
// caseload's probation calls, security nobody; a booking one cannot see is
// not found.
func manageBooking(status int) map[scope]map[caller]int {
	return map[scope]map[caller]int{ownPrison: st(status, status, status, 403), offCaseload: st(status, status, 404, 403),
		otherPrison: st(status, 404, 404, 404)}
}

// authMode is how a staff caller authenticates.
type authMode string

const (
	withBearer     authMode = "bearer"
	withCookieCSRF authMode = "cookie+csrf"
	withCookieOnly authMode = "cookie without csrf"
)

func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	for _, k := range storeKinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			runAuthzMatrix(t, k.newEnv(t, defaultNow()))
		})
	}
}

// runAuthzMatrix checks every route of the route table against its row.
func runAuthzMatrix(t *testing.T, e *env) {
	f := newAuthzFixture(t, e)
	rows := map[string]authzRow{}
	for _, r := range authzRows() {
		key := r.method + " " + r.route
		if _, dup := rows[key]; dup {
			t.Errorf("the matrix has two rows for %s", key)
		}
		rows[key] = r
	}
	routes := (&api{}).routes()
	for _, rt := range routes {
		if _, ok := rows[rt.method+" "+rt.path]; !ok {
			t.Errorf("route %s %s has no row in the authorization matrix: add one to authzRows", rt.method, rt.path)
		}
	}
	for key := range rows {
		if !slices.ContainsFunc(routes, func(rt apiRoute) bool { return rt.method+" "+rt.path == key }) {
			t.Errorf("the authorization matrix has a row for %s, which is not a route", key)
		}
	}
	for _, rt := range routes {
		row, ok := rows[rt.method+" "+rt.path]
		if !ok {
			continue
		}
		for _, sc := range []scope{ownPrison, offCaseload, otherPrison} {
			want, ok := row.want[sc]
			if !ok {
				continue
			}
			anon := http.StatusUnauthorized
			if row.public {
				anon = want[byAdmin]
			}
			f.try(row, sc, anonymous, "", anon)
			for _, c := range staffCallers() {
				f.try(row, sc, c, withBearer, want[c])
				f.try(row, sc, c, withCookieCSRF, want[c])
				if unsafeMethod(row.method) && !row.public {
					f.try(row, sc, c, withCookieOnly, http.StatusForbidden)
				}
			}
		}
	}
}

// try makes one attempt at row in scope sc as c, authenticated by mode,
// and checks its status and what it wrote.
func (f *authzFixture) try(row authzRow, sc scope, c caller, mode authMode, want int) {
	t := f.t
	t.Helper()
	a := row.make(f, sc)
	var edit func(*http.Request)
	if c != anonymous {
		token, csrf := f.e.session(f.staff[c])
		switch mode {
		case withBearer:
			edit = bearer(token)
		case withCookieCSRF, withCookieOnly:
			edit = func(r *http.Request) {
				r.AddCookie(&http.Cookie{Name: SessionCookie, Value: token})
				if mode == withCookieCSRF {
					r.Header.Set(CSRFHeader, csrf)
				}
			}
		}
	}
	before := f.counts()
	res := f.e.send(row.method, a.path, a.body, edit)
	after := f.counts()
	name := fmt.Sprintf("%s %s (%s, %s) as %s by %s", row.method, row.route, a.path, sc, c, mode)
	if res.status != want {
		t.Errorf("%s: %d, want %d (%.200s)", name, res.status, want, res.body)
		return
	}
	if mode == withCookieOnly {
		if p := res.problem(t); p.Code != string(ErrCSRF) {
			t.Errorf("%s: code %q, want csrf", name, p.Code)
		}
	}
	switch {
	case res.status < 300 && unsafeMethod(row.method):
		if after["audit_log"] <= before["audit_log"] {
			t.Errorf("%s: allowed, but nothing was audited (so nothing was written)", name)
		}
	case res.status < 300 && row.auditedRead:
		if diff := sameCounts(before, after); !slices.Equal(diff, []string{"audit_log"}) {
			t.Errorf("%s: an audited read wrote to %v, want the audit log only", name, diff)
		}
	default:
		if diff := sameCounts(before, after); len(diff) != 0 {
			t.Errorf("%s: answered %d, but wrote to %v", name, res.status, diff)
		}
	}
}
