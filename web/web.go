// Package web serves the embedded browser client: the landing page, the join
// page (device check, waiting room and call), the staff booking page and the
// security staff's monitoring wall (live calls and recordings), with their
// style sheets and ES modules. Everything is plain HTML, CSS and
// JavaScript under static/, embedded with go:embed; there is no build step.
//
// Every response carries a strict Content-Security-Policy (no inline script or
// style), so pages load their code and styles only from /static/. Media comes
// from the page's own origin (recordings, from the booking API) or from
// blob: URLs; calls' media arrive over WebRTC, which the policy does not
// govern.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var files embed.FS

// Security headers set on every response of Handler.
const (
	contentSecurityPolicy = "default-src 'self'; connect-src 'self' ws: wss:; media-src 'self' blob:; " +
		"img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'"
	permissionsPolicy = "camera=(self), microphone=(self)"
)

// pages maps the page URLs to their HTML files under static/.
var pages = map[string]string{
	"/":      "index.html",
	"/join":  "join.html",
	"/staff": "staff.html",
	// The monitoring wall; its data comes from the booking API.
	"/monitor": "monitor.html",
	// The connection test; its POST endpoints are ConnTest's.
	"/connection-test": "connection-test.html",
}

// contentTypes is the fixed table of served types, so that a machine's
// mime.types file cannot change what browsers are told (nosniff is on).
var contentTypes = map[string]string{
	".html":  "text/html; charset=utf-8",
	".css":   "text/css; charset=utf-8",
	".js":    "text/javascript; charset=utf-8",
	".svg":   "image/svg+xml",
	".png":   "image/png",
	".ico":   "image/x-icon",
	".json":  "application/json",
	".txt":   "text/plain; charset=utf-8",
	".woff2": "font/woff2",
}

// asset is one embedded file, ready to serve.
type asset struct {
	name        string
	content     []byte
	contentType string
	etag        string
}

// handler serves pages and assets from an in-memory table built once.
type handler struct {
	assets map[string]*asset // keyed by path under static/, e.g. "js/join.js"
}

// Handler returns the handler for the browser client. It serves "/" (the
// landing page), "/join" (the join page; the join token travels in the URL
// fragment, so it never reaches the server), "/staff" (the staff booking
// page), "/monitor" (the monitoring wall) and "/static/..." (style sheets,
// scripts, images). Every other path is 404. Only GET and HEAD are allowed.
//
// HTML is sent with Cache-Control no-cache; assets too, with a content hash
// ETag, so a browser revalidates cheaply and never runs stale code after an
// upgrade.
func Handler() http.Handler {
	h, err := load(files)
	if err != nil {
		// The embedded tree is fixed at build time, so this is a broken
		// build (the package tests catch it); answer 500, do not panic.
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "web client unavailable", http.StatusInternalServerError)
		})
	}
	return h
}

// load reads every file under static/ of fsys into memory.
func load(fsys fs.FS) (*handler, error) {
	h := &handler{assets: make(map[string]*asset)}
	err := fs.WalkDir(fsys, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		content, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		ct, ok := contentTypes[path.Ext(p)]
		if !ok {
			ct = "application/octet-stream"
		}
		sum := sha256.Sum256(content)
		rel := strings.TrimPrefix(p, "static/")
		h.assets[rel] = &asset{
			name:        path.Base(p),
			content:     content,
			contentType: ct,
			etag:        `"` + hex.EncodeToString(sum[:16]) + `"`,
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web: reading embedded files: %w", err)
	}
	return h, nil
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", contentSecurityPolicy)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("Permissions-Policy", permissionsPolicy)

	a := h.lookup(r.URL.Path)
	if a == nil {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	hdr.Set("Content-Type", a.contentType)
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("ETag", a.etag)
	http.ServeContent(w, r, a.name, time.Time{}, bytes.NewReader(a.content))
}

// lookup returns the asset for a request path, or nil.
func (h *handler) lookup(p string) *asset {
	if file, ok := pages[p]; ok {
		return h.assets[file]
	}
	rel, ok := strings.CutPrefix(p, "/static/")
	if !ok || rel == "" || path.Clean("/"+rel) != "/"+rel {
		return nil
	}
	return h.assets[rel]
}
