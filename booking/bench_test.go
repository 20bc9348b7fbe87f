package booking

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/clock"
)

// The booking throughput benchmark: benchClients clients book at once into
// a week of slots of one prison through the real Service.CreateBooking
// (every rule, one store transaction each, audit included). b.N is the
// number of booking attempts. Run it with
//
//	./scripts/with-services.sh go test -run '^$' -bench ConcurrentBooking -benchtime=20000x ./booking/
//
// It reports confirmed bookings and refusals per second, the p50 and p99
// latency of an attempt, and the overbookings found afterwards (slots over
// capacity plus prisoners with overlapping active bookings), which must be
// 0.

const (
	benchClients = 200
	// benchCapacity is each slot's capacity; rooms are added until the week
	// has a place for about benchCapacity/benchAttemptsPerSlot of the
	// attempts, so most are confirmed and the rest meet a full slot.
	benchCapacity        = 3
	benchAttemptsPerSlot = 4
	// The prison opens 08:00-20:00 every day, in 30-minute slots.
	benchDayStart, benchDayEnd, benchSlotMinutes = 8 * 60, 20 * 60, 30
	benchMaxRooms                                = 200
	// benchTimeLimit stops a run that is far too slow.
	benchTimeLimit = 5 * time.Minute
)

func BenchmarkConcurrentBookingPostgres(b *testing.B) {
	benchmarkConcurrentBooking(b, openTestPostgres)
}

func BenchmarkConcurrentBookingSQLite(b *testing.B) {
	benchmarkConcurrentBooking(b, openTestSQLite)
}

// benchWorld is the prison the clients book into.
type benchWorld struct {
	svc    *Service
	store  *sqlStore
	clerk  Staff
	prison int64
	from   time.Time // the week, [from, to)
	to     time.Time
	slots  []Slot
	// roomOf maps a room id to its index; client c books room r with
	// prisoner people[c][r] and their legal adviser.
	roomOf map[int64]int
	people [][]benchPerson
}

type benchPerson struct{ prisoner, contact int64 }

// newBenchWorld builds, on a new store, a prison with enough rooms for
// attempts, a template per room and weekday, and for every client one
// prisoner per room with an approved legal adviser (legal calls consume no
// allowance, so the only refusals are full slots). The clock stands on the
// Monday before the week.
func newBenchWorld(b *testing.B, open func(testing.TB) *sqlStore, attempts int) *benchWorld {
	b.Helper()
	ctx := context.Background()
	slotsPerRoom := 7 * (benchDayEnd - benchDayStart) / benchSlotMinutes
	rooms := min(benchMaxRooms, max(1, (attempts+slotsPerRoom*benchAttemptsPerSlot-1)/(slotsPerRoom*benchAttemptsPerSlot)))
	w := &benchWorld{store: open(b), roomOf: map[int64]int{}}
	monday := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	w.from, w.to = monday.AddDate(0, 0, 1), monday.AddDate(0, 0, 8)
	w.svc = NewService(w.store, nil, clock.NewOffset(monday.Add(8*time.Hour)), nil, nil, Config{})

	err := w.store.InTx(ctx, func(q Queries) error {
		var err error
		if w.prison, err = q.CreatePrison(ctx, Prison{Code: "BEN", Name: "HMP Bench"}); err != nil {
			return err
		}
		roomIDs := make([]int64, rooms)
		for r := range rooms {
			if roomIDs[r], err = q.CreateRoom(ctx, Room{PrisonID: w.prison, Name: fmt.Sprintf("Room %03d", r)}); err != nil {
				return err
			}
			w.roomOf[roomIDs[r]] = r
			for wd := time.Sunday; wd <= time.Saturday; wd++ {
				if _, err := q.CreateSlotTemplate(ctx, SlotTemplate{RoomID: roomIDs[r], Weekday: wd,
					StartMinute: benchDayStart, EndMinute: benchDayEnd, SlotMinutes: benchSlotMinutes,
					Capacity: benchCapacity, CallTypes: []CallType{CallSocial, CallLegal},
					ValidFrom: monday.AddDate(0, -1, 0)}); err != nil {
					return err
				}
			}
		}
		w.people = make([][]benchPerson, benchClients)
		for c := range benchClients {
			w.people[c] = make([]benchPerson, rooms)
			for r := range rooms {
				pid, err := q.CreatePrisoner(ctx, Prisoner{PrisonID: w.prison, Number: fmt.Sprintf("B%03d%03d", c, r),
					Name: fmt.Sprintf("Prisoner %d/%d", c, r)})
				if err != nil {
					return err
				}
				cid, err := q.CreateContact(ctx, Contact{Name: fmt.Sprintf("Solicitor %d/%d", c, r), Kind: ContactLegal})
				if err != nil {
					return err
				}
				if err := q.LinkContact(ctx, PrisonerContact{PrisonerID: pid, Contact: Contact{ID: cid},
					Relationship: "solicitor", Approved: true}); err != nil {
					return err
				}
				w.people[c][r] = benchPerson{pid, cid}
			}
		}
		w.clerk = Staff{Username: "clerk", Name: "Bench Clerk", Role: StaffClerk, PrisonID: w.prison, PasswordHash: "-"}
		w.clerk.ID, err = q.CreateStaff(ctx, w.clerk)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	// A database in service has planner statistics on the prison's people
	// (a new one gets them from autovacuum only after a minute or so). The
	// tables the run fills keep none: statistics taken while they are empty
	// would mislead the planner as they grow.
	for _, table := range []string{"prisons", "rooms", "slot_templates", "prisoners", "contacts",
		"prisoner_contacts", "staff"} {
		if _, err := w.store.db.ExecContext(ctx, "ANALYZE "+table); err != nil {
			b.Fatal(err)
		}
	}
	if w.slots, err = w.svc.Slots(ctx, w.clerk, w.prison, w.from, w.to.AddDate(0, 0, -1)); err != nil {
		b.Fatal(err)
	}
	if len(w.slots) != rooms*slotsPerRoom {
		b.Fatalf("%d slots, want %d", len(w.slots), rooms*slotsPerRoom)
	}
	return w
}

func benchmarkConcurrentBooking(b *testing.B, open func(testing.TB) *sqlStore) {
	w := newBenchWorld(b, open, b.N)
	ctx, cancel := context.WithTimeout(context.Background(), benchTimeLimit)
	defer cancel()

	var (
		next                                 atomic.Int64 // attempts handed out
		confirmed, refused, failed, timedOut atomic.Int64
		firstErr                             atomic.Value
		latencies                            = make([][]time.Duration, benchClients)
		wg                                   sync.WaitGroup
		start                                = make(chan struct{})
	)
	for c := range benchClients {
		// Each client loops over the week's slots in its own order.
		order := rand.New(rand.NewPCG(uint64(c), 42)).Perm(len(w.slots))
		wg.Go(func() {
			<-start
			lat := make([]time.Duration, 0, b.N/benchClients+1)
			for _, i := range order {
				if next.Add(1) > int64(b.N) {
					break
				}
				if ctx.Err() != nil {
					timedOut.Add(1)
					break
				}
				sl := w.slots[i]
				p := w.people[c][w.roomOf[sl.RoomID]]
				t0 := time.Now()
				_, err := w.svc.CreateBooking(ctx, w.clerk, CreateRequest{PrisonerID: p.prisoner, SlotID: sl.ID,
					CallType: CallLegal, ContactIDs: []int64{p.contact}})
				lat = append(lat, time.Since(t0))
				switch {
				case err == nil:
					confirmed.Add(1)
				case errors.Is(err, ErrSlotFull) || errors.Is(err, ErrPrisonerBusy):
					refused.Add(1)
				default:
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
				}
			}
			latencies[c] = lat
		})
	}
	b.ResetTimer()
	t0 := time.Now()
	close(start)
	wg.Wait()
	elapsed := time.Since(t0)
	b.StopTimer()

	if err, _ := firstErr.Load().(error); err != nil {
		b.Fatalf("%d attempts failed, the first with: %v", failed.Load(), err)
	}
	if timedOut.Load() > 0 {
		b.Fatalf("stopped after %s with %d of %d attempts made", benchTimeLimit, confirmed.Load()+refused.Load(), b.N)
	}
	all := slices.Concat(latencies...)
	slices.Sort(all)
	pct := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		return float64(all[min(len(all)-1, int(p*float64(len(all))))]) / float64(time.Millisecond)
	}
	over, active := w.overbookings(b)
	if active != int(confirmed.Load()) {
		b.Errorf("%d bookings confirmed but %d active in the store", confirmed.Load(), active)
	}
	if over != 0 {
		b.Errorf("%d overbookings", over)
	}
	if n, err := VerifyAudit(context.Background(), w.store); err != nil || n != active {
		b.Errorf("audit chain of %d entries after %d bookings: %v", n, active, err)
	}
	b.ReportMetric(float64(confirmed.Load())/elapsed.Seconds(), "bookings/s")
	b.ReportMetric(float64(refused.Load())/elapsed.Seconds(), "refusals/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(over), "overbookings")
}

// overbookings counts the slots holding more active bookings than their
// capacity and the prisoners with overlapping active bookings; it also
// returns the number of active bookings.
func (w *benchWorld) overbookings(b *testing.B) (over, active int) {
	b.Helper()
	ctx := context.Background()
	counts, err := w.store.ActiveCounts(ctx, w.prison, w.from, w.to)
	if err != nil {
		b.Fatal(err)
	}
	capacity := map[string]int{}
	for _, sl := range w.slots {
		capacity[sl.ID] = sl.Capacity
	}
	for slot, n := range counts {
		if c, ok := capacity[slot]; !ok || n > c {
			over++
		}
	}
	list, err := w.store.Bookings(ctx, w.prison, w.from, w.to)
	if err != nil {
		b.Fatal(err)
	}
	byPrisoner := map[int64][]Booking{}
	for _, bk := range list {
		if bk.Status.Active() {
			byPrisoner[bk.PrisonerID] = append(byPrisoner[bk.PrisonerID], bk)
			active++
		}
	}
	for _, bs := range byPrisoner {
		slices.SortFunc(bs, func(x, y Booking) int { return cmp.Compare(x.StartsAt.Unix(), y.StartsAt.Unix()) })
		for i := 1; i < len(bs); i++ {
			if bs[i].StartsAt.Before(bs[i-1].EndsAt) {
				over++
			}
		}
	}
	return over, active
}
