// Package problem writes HTTP errors as RFC 9457 problem details
// (application/problem+json), the one error shape of every Gatehouse API.
package problem

import (
	"encoding/json"
	"net/http"
)

// ContentType is the media type of a problem document.
const ContentType = "application/problem+json"

// Problem is an RFC 9457 problem document. Code is a stable, machine-readable
// reason (for example "slot_full") that clients may switch on.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	Code   string `json:"code,omitempty"`
}

// Error makes a Problem usable as an error value.
func (p *Problem) Error() string {
	if p.Detail != "" {
		return p.Title + ": " + p.Detail
	}
	return p.Title
}

// New builds a problem whose type URI is derived from its code.
func New(status int, code, detail string) *Problem {
	return &Problem{
		Type:   "https://gatehouse.dev/problems/" + code,
		Title:  http.StatusText(status),
		Status: status,
		Detail: detail,
		Code:   code,
	}
}

// Write sends p as the response.
func Write(w http.ResponseWriter, p *Problem) {
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// Error writes a new problem built from status, code and detail.
func Error(w http.ResponseWriter, status int, code, detail string) {
	Write(w, New(status, code, detail))
}
