package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/booking"
	"github.com/gatehouse/gatehouse/internal/clock"
	"github.com/gatehouse/gatehouse/internal/testkit"
)

// staffReferenceAlphabet is the booking reference alphabet of API.md: no
// 0/O, 1/I or L.
const staffReferenceAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

// staffStep runs actions in the tab, bounded by timeout, failing the test
// with what the page shows when they do not finish.
func staffStep(t *testing.T, tab context.Context, what string, timeout time.Duration, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	began := time.Now()
	ctx, cancel := context.WithTimeout(tab, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v\npage: %s", what, err, staffPageState(tab))
	}
	t.Logf("%s: %v", what, time.Since(began).Round(time.Millisecond))
}

// staffPageState describes the visible messages of the staff page, for
// failure reports.
func staffPageState(tab context.Context) string {
	ctx, cancel := context.WithTimeout(tab, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify({
		url: location.href,
		status: document.getElementById('status')?.textContent,
		loginVisible: !document.getElementById('login-view')?.hidden,
		loginMessage: document.getElementById('login-message')?.textContent,
		loginError: document.getElementById('login-error')?.textContent,
		appVisible: !document.getElementById('app-view')?.hidden,
		bookingError: document.getElementById('booking-error')?.textContent,
		slots: document.getElementById('slots')?.innerText,
		contacts: document.getElementById('contacts')?.innerText,
	})`))
	if err != nil {
		return fmt.Sprintf("(cannot read the page: %v)", err)
	}
	return s
}

// staffChoose sets a form control's value as a date picker would and fires
// the change event the page listens for. Used for the date input, whose typed
// form depends on the browser's locale.
func staffChoose(id, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		js := fmt.Sprintf(`(() => {
			const el = document.getElementById(%q);
			el.value = %q;
			el.dispatchEvent(new Event('input', {bubbles: true}));
			el.dispatchEvent(new Event('change', {bubbles: true}));
			return el.value;
		})()`, id, value)
		got, err := chromedp.Evaluate[string](js)(ctx, tg)
		if err != nil {
			return err
		}
		if got != value {
			return fmt.Errorf("#%s took the value %q, want %q", id, got, value)
		}
		return nil
	})
}

// TestStaffPageBooksAVisitAndShowsLinks signs in on the staff page as the
// demo clerk, books a social visit for Daniel Price with Sarah Price in a
// demo room slot a day ahead through the form, and checks the reference and
// join links the page shows against the API. Then it books the same
// prisoner into the same slot again and checks that the page shows the
// API's refusal in plain words.
func TestStaffPageBooksAVisitAndShowsLinks(t *testing.T) {
	exe := chromium(t)
	srv := testkit.Start(t)
	began := time.Now()
	tab := browser(t, exe)
	t.Logf("start chromium: %v", time.Since(began).Round(time.Millisecond))

	// The page reads the browser's clock, the API the server's: leave the
	// server clock at the real time so the two agree.
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	apiToken := srv.Login(t, "clerk", "demo-clerk-pass")
	start := testkit.NextSlotStart(srv.Clock.Now())
	slot := srv.DemoSlot(t, apiToken, start)
	day := start.In(london).Format(time.DateOnly)
	slotRadio := chromedp.CSS(fmt.Sprintf(`input[name="slot"][value=%q]`, slot.ID))
	sarah := chromedp.Search(`//label[contains(., "Sarah Price")]//input[@name="contact"]`)
	social := chromedp.CSS(`input[name="callType"][value="social"]`)

	staffStep(t, tab, "open /staff", 20*time.Second,
		chromedp.Navigate(srv.URL+"/staff"),
		chromedp.WaitVisible(chromedp.ID("login-view")),
		chromedp.WaitEnabled(chromedp.CSS(`#login-form button[type="submit"]`)),
	)
	staffStep(t, tab, "sign in", 20*time.Second,
		chromedp.SendKeys(chromedp.ID("username"), "clerk"),
		chromedp.SendKeys(chromedp.ID("password"), "demo-clerk-pass"),
		chromedp.Click(chromedp.CSS(`#login-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("app-view")),
	)
	// The prisoners list only fills when an API call with the session
	// cookie succeeds; a refused cookie sends the page back to sign in.
	{
		ctx, cancel := context.WithTimeout(tab, 20*time.Second)
		state, err := chromedp.Run(ctx, chromedp.Poll[string](`(() => {
			if ([...document.querySelectorAll('#prisoner option')].some((o) => o.text.includes('A1234BC'))) return 'ready';
			const m = document.getElementById('login-message');
			if (!document.getElementById('login-view').hidden && !m.hidden) return 'signed out: ' + m.textContent;
			return '';
		})()`, chromedp.WithPollingInterval(50*time.Millisecond)))
		cancel()
		if err != nil {
			t.Fatalf("wait for the booking form: %v\npage: %s", err, staffPageState(tab))
		}
		if state != "ready" {
			t.Fatalf("the page did not keep the session after signing in (%s)\npage: %s", state, staffPageState(tab))
		}
	}
	// Chromium kept the session cookie on http://127.0.0.1 (a potentially
	// trustworthy origin) with its security attributes intact.
	{
		ctx, cancel := context.WithTimeout(tab, 5*time.Second)
		res, err := chromedp.Run(ctx, chromedp.Action[*network.GetCookiesResult](
			func(ctx context.Context, tg *chromedp.Target) (*network.GetCookiesResult, error) {
				r, err := cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{URLs: []string{srv.URL + "/staff"}})
				return &r, err
			}))
		cancel()
		if err != nil {
			t.Fatalf("read cookies: %v", err)
		}
		var session *network.Cookie
		for _, c := range res.Cookies {
			if c.Name == "gatehouse_session" {
				session = c
			}
		}
		if session == nil {
			t.Fatalf("the browser holds no gatehouse_session cookie for %s (%d others)", srv.URL, len(res.Cookies))
		}
		if !session.Secure || !session.HTTPOnly || session.SameSite != network.CookieSameSiteStrict {
			t.Errorf("session cookie is Secure=%v HttpOnly=%v SameSite=%q, want Secure, HttpOnly, Strict",
				session.Secure, session.HTTPOnly, session.SameSite)
		}
	}

	staffStep(t, tab, "choose date, call type, slot, prisoner and visitor", 20*time.Second,
		staffChoose("date", day),
		chromedp.Click(social),
		chromedp.WaitEnabled(slotRadio),
		chromedp.Click(slotRadio),
		chromedp.SendKeys(chromedp.ID("prisoner"), "Daniel"),
		chromedp.WaitEnabled(sarah),
		chromedp.Click(sarah),
	)
	{
		ctx, cancel := context.WithTimeout(tab, 5*time.Second)
		type chosen struct {
			Slot     bool   `json:"slot"`
			Social   bool   `json:"social"`
			Prisoner string `json:"prisoner"`
			Sarah    bool   `json:"sarah"`
		}
		c, err := chromedp.Run(ctx, chromedp.Evaluate[chosen](fmt.Sprintf(`({
			slot: document.querySelector('input[name="slot"][value=%q]').checked,
			social: document.querySelector('input[name="callType"][value="social"]').checked,
			prisoner: document.getElementById('prisoner').selectedOptions[0]?.text || '',
			sarah: [...document.querySelectorAll('#contacts label')].some((l) => l.textContent.includes('Sarah Price') && l.querySelector('input').checked),
		})`, slot.ID)))
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if !c.Slot || !c.Social || !strings.Contains(c.Prisoner, "A1234BC") || !c.Sarah {
			t.Fatalf("form is not filled in as chosen: %+v", c)
		}
	}

	staffStep(t, tab, "book", 20*time.Second,
		chromedp.Click(chromedp.ID("book")),
		chromedp.WaitVisible(chromedp.ID("result")),
		chromedp.WaitEnabled(chromedp.ID("book")),
	)
	var reference string
	var links []string
	{
		ctx, cancel := context.WithTimeout(tab, 5*time.Second)
		reference, err = chromedp.Run(ctx, chromedp.Text(chromedp.ID("result-reference")))
		if err == nil {
			links, err = chromedp.Run(ctx, chromedp.Evaluate[[]string](
				`[...document.querySelectorAll('#result-links input')].map((i) => i.value)`))
		}
		cancel()
		if err != nil {
			t.Fatalf("read the result: %v", err)
		}
	}
	t.Logf("page shows reference %s and %d links", reference, len(links))
	if len(reference) != booking.ReferenceLength || strings.Trim(reference, staffReferenceAlphabet) != "" {
		t.Errorf("reference %q is not %d characters of %s", reference, booking.ReferenceLength, staffReferenceAlphabet)
	}
	if len(links) != 2 {
		t.Fatalf("page shows %d join links, want 2: %q", len(links), links)
	}
	for _, l := range links {
		if !strings.Contains(l, "/join#token=") {
			t.Errorf("join link %q has no /join#token=", l)
		}
	}

	// The booking exists, as the page said.
	var listed []booking.Booking
	if st := srv.Do(t, http.MethodGet, "/api/v1/bookings?from="+day+"&to="+day, apiToken, nil, &listed); st != http.StatusOK {
		t.Fatalf("list bookings: status %d", st)
	}
	if len(listed) != 1 || listed[0].Reference != reference {
		t.Fatalf("API lists %d bookings on %s (%+v), want the one with reference %s", len(listed), day, listed, reference)
	}
	var b booking.Booking
	if st := srv.Do(t, http.MethodGet, "/api/v1/bookings/"+strconv.FormatInt(listed[0].ID, 10), apiToken, nil, &b); st != http.StatusOK {
		t.Fatalf("get booking %d: status %d", listed[0].ID, st)
	}
	if b.Status != booking.StatusBooked || b.Reference != reference || b.SlotID != slot.ID || b.CallType != booking.CallSocial {
		t.Errorf("booking = status %s, reference %s, slot %s, call type %s; want booked, %s, %s, social",
			b.Status, b.Reference, b.SlotID, b.CallType, reference, slot.ID)
	}
	if len(b.Participants) != 2 || b.Participants[0].Name != "Daniel Price" || b.Participants[1].Name != "Sarah Price" {
		t.Fatalf("participants = %+v, want Daniel Price and Sarah Price", b.Participants)
	}
	// Each link the page shows is a valid token of this booking, one per
	// participant, as seen at the start of the call.
	signer, err := auth.NewJoinSigner([]byte(testkit.Secret), clock.NewOffset(start.Add(time.Second)))
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range links {
		u, err := url.Parse(l)
		if err != nil || u.Host != strings.TrimPrefix(srv.URL, "http://") {
			t.Errorf("join link %q is not on the server (%v)", l, err)
		}
		claims, err := signer.Verify(testkit.TokenFromURL(t, l))
		if err != nil {
			t.Errorf("join link %d: %v", i, err)
			continue
		}
		if claims.BookingID != b.ID || claims.ParticipantID != b.Participants[i].ID {
			t.Errorf("join link %d names booking %d participant %s, want booking %d participant %s (%s)",
				i, claims.BookingID, claims.ParticipantID, b.ID, b.Participants[i].ID, b.Participants[i].Name)
		}
	}

	// The same prisoner in the same slot again: the page shows the refusal.
	staffStep(t, tab, "try to book the same prisoner again", 20*time.Second,
		chromedp.Click(chromedp.ID("result-close")),
		chromedp.WaitNotVisible(chromedp.ID("result")),
		chromedp.WaitEnabled(slotRadio),
		chromedp.Click(slotRadio),
		chromedp.WaitEnabled(sarah),
		chromedp.Click(sarah),
		chromedp.Click(chromedp.ID("book")),
		chromedp.WaitVisible(chromedp.ID("booking-error")),
		chromedp.WaitEnabled(chromedp.ID("book")),
	)
	var shown string
	var resultVisible bool
	{
		ctx, cancel := context.WithTimeout(tab, 5*time.Second)
		shown, err = chromedp.Run(ctx, chromedp.Text(chromedp.ID("booking-error")))
		if err == nil {
			resultVisible, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`!document.getElementById('result').hidden`))
		}
		cancel()
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("page shows refusal %q", shown)
	detail := staffRefusalDetail(t, srv, apiToken, map[string]any{
		"prisonerId": b.PrisonerID, "slotId": slot.ID, "callType": "social",
		"contactIds": []int64{b.Participants[1].ContactID},
	})
	if !strings.Contains(shown, "already") || strings.TrimSpace(shown) != detail {
		t.Errorf("page shows %q, want the API's detail %q", shown, detail)
	}
	if resultVisible {
		t.Error("the page shows a booked result after a refusal")
	}
	if st := srv.Do(t, http.MethodGet, "/api/v1/bookings?from="+day+"&to="+day, apiToken, nil, &listed); st != http.StatusOK || len(listed) != 1 {
		t.Errorf("after the refusal the API lists %d bookings (status %d), want 1", len(listed), st)
	}
	t.Logf("whole test: %v", time.Since(began).Round(time.Millisecond))
}

// staffRefusalDetail posts a booking that must be refused with 409
// prisoner_busy and returns the problem's detail.
func staffRefusalDetail(t *testing.T, srv *testkit.Server, token string, body any) string {
	t.Helper()
	st, p := srv.DoProblem(t, http.MethodPost, "/api/v1/bookings", token, body)
	if st != http.StatusConflict || p.Code != "prisoner_busy" {
		t.Fatalf("second booking: status %d code %q, want 409 prisoner_busy", st, p.Code)
	}
	return p.Detail
}
