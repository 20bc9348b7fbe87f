package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, method, path string, hdr map[string]string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPagesAndAssets(t *testing.T) {
	h := Handler()
	cases := []struct {
		path, contentType, contains string
	}{
		{"/", "text/html; charset=utf-8", `href="/staff"`},
		{"/join", "text/html; charset=utf-8", `id="join"`},
		{"/join?x=1", "text/html; charset=utf-8", `/static/js/join.js`},
		{"/staff", "text/html; charset=utf-8", `/static/js/staff.js`},
		{"/static/css/gatehouse.css", "text/css; charset=utf-8", ":root"},
		{"/static/js/join.js", "text/javascript; charset=utf-8", "window.gatehouse"},
		{"/static/js/signal.js", "text/javascript; charset=utf-8", "export class Signal"},
		{"/static/img/favicon.svg", "image/svg+xml", "<svg"},
	}
	for _, c := range cases {
		res := get(t, h, http.MethodGet, c.path, nil)
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET %s: status %d, want 200", c.path, res.StatusCode)
			continue
		}
		if got := res.Header.Get("Content-Type"); got != c.contentType {
			t.Errorf("GET %s: Content-Type %q, want %q", c.path, got, c.contentType)
		}
		if b := body(t, res); !strings.Contains(b, c.contains) {
			t.Errorf("GET %s: body lacks %q", c.path, c.contains)
		}
		checkSecurityHeaders(t, c.path, res)
		if got := res.Header.Get("Cache-Control"); got != "no-cache" {
			t.Errorf("GET %s: Cache-Control %q, want no-cache", c.path, got)
		}
	}
}

func checkSecurityHeaders(t *testing.T, path string, res *http.Response) {
	t.Helper()
	want := map[string]string{
		"Content-Security-Policy": "default-src 'self'; connect-src 'self' ws: wss:; media-src 'self' blob:; " +
			"img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'",
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "no-referrer",
		"Permissions-Policy":     "camera=(self), microphone=(self)",
	}
	for k, v := range want {
		if got := res.Header.Get(k); got != v {
			t.Errorf("%s: %s = %q, want %q", path, k, got, v)
		}
	}
}

func TestNotFound(t *testing.T) {
	h := Handler()
	for _, p := range []string{
		"/nope", "/join/", "/join/extra", "/staff/x", "/static", "/static/", "/static/js",
		"/static/js/", "/static/nope.js", "/static/../web.go", "/static/js/../../web.go",
		"/static//js/join.js", "/web.go", "/index.html",
	} {
		res := get(t, h, http.MethodGet, p, nil)
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", p, res.StatusCode)
		}
		checkSecurityHeaders(t, p, res)
	}
}

func TestMethods(t *testing.T) {
	h := Handler()
	res := get(t, h, http.MethodHead, "/join", nil)
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("HEAD /join: %d %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if b := body(t, res); b != "" {
		t.Errorf("HEAD /join: body of %d bytes", len(b))
	}
	res = get(t, h, http.MethodPost, "/join", nil)
	if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /join: %d, Allow %q", res.StatusCode, res.Header.Get("Allow"))
	}
}

func TestETagRevalidation(t *testing.T) {
	h := Handler()
	res := get(t, h, http.MethodGet, "/static/js/join.js", nil)
	etag := res.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	res = get(t, h, http.MethodGet, "/static/js/join.js", map[string]string{"If-None-Match": etag})
	if res.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: status %d, want 304", res.StatusCode)
	}
}

var (
	assetRef  = regexp.MustCompile(`(?:src|href)="(/static/[^"]+)"`)
	importRef = regexp.MustCompile(`(?m)^\s*import\s[^'"]*['"](\./[^'"]+)['"]`)
)

// TestReferencesResolve checks that every asset a page links and every
// module a script imports is served, and that no page relies on inline
// script or style, which the Content-Security-Policy blocks.
func TestReferencesResolve(t *testing.T) {
	hh, err := load(files)
	if err != nil {
		t.Fatal(err)
	}
	for path, file := range pages {
		a := hh.assets[file]
		if a == nil {
			t.Fatalf("page %s: %s not embedded", path, file)
		}
		html := string(a.content)
		for _, m := range assetRef.FindAllStringSubmatch(html, -1) {
			if hh.lookup(m[1]) == nil {
				t.Errorf("page %s links %s, which is not served", path, m[1])
			}
		}
		for _, bad := range []string{"<style", " style=", " onclick=", " onload=", "javascript:"} {
			if strings.Contains(html, bad) {
				t.Errorf("page %s contains %q, which the CSP blocks", path, bad)
			}
		}
		for _, s := range regexp.MustCompile(`<script[^>]*>`).FindAllString(html, -1) {
			if !strings.Contains(s, ` src="/static/`) {
				t.Errorf("page %s has an inline script %s", path, s)
			}
		}
	}
	for rel, a := range hh.assets {
		if !strings.HasSuffix(rel, ".js") {
			continue
		}
		dir := rel[:strings.LastIndex(rel, "/")+1]
		for _, m := range importRef.FindAllStringSubmatch(string(a.content), -1) {
			target := dir + strings.TrimPrefix(m[1], "./")
			if hh.assets[target] == nil {
				t.Errorf("%s imports %s, which is not embedded", rel, m[1])
			}
		}
	}
}
