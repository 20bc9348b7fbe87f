package booking

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
)

// getSettings serves GET /api/v1/prisons/{prisonId}/settings.
func (a *api) getSettings(w http.ResponseWriter, r *http.Request, who principal) {
	id, err := pathID(r, "prisonId")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	set, err := a.svc.PrisonSettings(r.Context(), who.staff, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusOK, set)
}

// putSettings serves PUT /api/v1/prisons/{prisonId}/settings: every field
// is required (a missing one would silently take the zero value).
func (a *api) putSettings(w http.ResponseWriter, r *http.Request, who principal) {
	id, err := pathID(r, "prisonId")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var set Settings
	if err := decodeComplete(w, r, &set); err != nil {
		a.fail(w, r, err)
		return
	}
	if set, err = a.svc.SetPrisonSettings(r.Context(), who.staff, id, set); err != nil {
		a.fail(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusOK, set)
}

// decodeComplete decodes a JSON object into the struct dst as decode does,
// and also refuses it unless it names every field of dst: for a PUT that
// replaces a whole record, a field left out is a mistake, not a zero.
func decodeComplete(w http.ResponseWriter, r *http.Request, dst any) error {
	var raw bytes.Buffer
	r.Body = io.NopCloser(io.TeeReader(r.Body, &raw))
	if err := decode(w, r, dst); err != nil {
		return err
	}
	var present map[string]json.RawMessage
	if err := json.Unmarshal(raw.Bytes(), &present); err != nil {
		return refuse(ErrValidation, "the body must be a JSON object")
	}
	t := reflect.TypeOf(dst).Elem()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		if _, ok := present[name]; !ok {
			return refuse(ErrValidation, "%s is required", name)
		}
	}
	return nil
}
