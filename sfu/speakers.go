package sfu

import (
	"math"
	"slices"

	"github.com/pion/webrtc/v4"
)

// Active-speaker detection over the RFC 6464 levels publishers send.
const (
	// speakThreshold is the mean loudness, 0..1 of 127 dB, above which a
	// participant is speaking: louder than about -45 dBov.
	speakThreshold = 0.65
	// speakHold is how many ticks a speaker stays listed after falling
	// quiet, so that pauses between words do not flicker.
	speakHold = 3
)

// Speaker is one entry of the speakers message.
type Speaker struct {
	ParticipantID string  `json:"participantId"`
	Level         float64 `json:"level"`
}

type speakersMsg struct {
	Type     string    `json:"type"`
	Speakers []Speaker `json:"speakers"`
}

// speakerState is the room ticker's memory of who was speaking.
type speakerState struct {
	hold map[string]int
	last []string // ids last sent, loudest first
}

// detectSpeakers samples each audio track's level and, when the list of
// speakers (or its order) changed, sends it to everyone in the room.
func (r *Room) detectSpeakers(ps []*Participant, tracks []*upTrack) {
	st := &r.speakers
	if st.hold == nil {
		st.hold = make(map[string]int)
	}
	levels := make(map[string]float64)
	for _, t := range tracks {
		if t.kind != webrtc.RTPCodecTypeAudio || t.extAudioLevel == 0 {
			continue
		}
		if l := t.level.sample(); l > levels[t.owner.id] {
			levels[t.owner.id] = l
		}
	}
	var now []Speaker
	for id, l := range levels {
		if l >= speakThreshold {
			st.hold[id] = speakHold
		} else if st.hold[id] > 0 {
			st.hold[id]--
		}
		if st.hold[id] > 0 {
			now = append(now, Speaker{ParticipantID: id, Level: math.Round(l*100) / 100})
		}
	}
	for id := range st.hold {
		if _, ok := levels[id]; !ok {
			delete(st.hold, id) // left, or stopped publishing audio
		}
	}
	slices.SortFunc(now, func(a, b Speaker) int {
		switch {
		case a.Level > b.Level:
			return -1
		case a.Level < b.Level:
			return 1
		case a.ParticipantID < b.ParticipantID:
			return -1
		case a.ParticipantID > b.ParticipantID:
			return 1
		}
		return 0
	})
	ids := make([]string, len(now))
	for i, s := range now {
		ids[i] = s.ParticipantID
	}
	if slices.Equal(ids, st.last) {
		return
	}
	st.last = ids
	r.sfu.media.SpeakerChanges.Inc()
	msg := speakersMsg{Type: "speakers", Speakers: now}
	if msg.Speakers == nil {
		msg.Speakers = []Speaker{}
	}
	for _, p := range ps {
		p.signaller().Notify(msg)
	}
}
