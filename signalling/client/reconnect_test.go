package client

import (
	"testing"

	"github.com/pion/webrtc/v4"
)

func TestCandidateUfrag(t *testing.T) {
	frag := "fromField"
	for _, c := range []struct {
		cand webrtc.ICECandidateInit
		want string
	}{
		{webrtc.ICECandidateInit{Candidate: "candidate:1 1 udp 2130706431 10.0.0.1 5000 typ host ufrag abcd"}, "abcd"},
		{webrtc.ICECandidateInit{Candidate: "candidate:1 1 udp 2130706431 10.0.0.1 5000 typ host ufrag abcd generation 0"}, "abcd"},
		{webrtc.ICECandidateInit{Candidate: "candidate:1 1 udp 2130706431 10.0.0.1 5000 typ host"}, ""},
		{webrtc.ICECandidateInit{Candidate: "candidate:1 1 udp 1 10.0.0.1 5000 typ host ufrag x", UsernameFragment: &frag}, "fromField"},
		{webrtc.ICECandidateInit{Candidate: ""}, ""},
	} {
		if got := candidateUfrag(c.cand); got != c.want {
			t.Errorf("candidateUfrag(%q) = %q, want %q", c.cand.Candidate, got, c.want)
		}
	}
}
