package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
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
		{"/staff", "text/html; charset=utf-8", `href="/monitor"`},
		{"/monitor", "text/html; charset=utf-8", `/static/js/monitor.js`},
		{"/static/js/reason-dialog.js", "text/javascript; charset=utf-8", "export function askReason"},
		{"/static/js/monitor.js", "text/javascript; charset=utf-8", "window.gatehouseMonitor"},
		{"/static/js/playback.js", "text/javascript; charset=utf-8", "export class SyncPlayer"},
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
		"/nope", "/join/", "/join/extra", "/staff/x", "/monitor/", "/monitor/calls", "/static", "/static/", "/static/js",
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

var (
	namedImport = regexp.MustCompile(`(?m)^\s*import\s*\{([^}]*)\}\s*from\s*['"](\./[^'"]+)['"]`)
	exportDecl  = regexp.MustCompile(`(?m)^export\s+(?:async\s+)?(?:function\*?|class|const|let|var)\s+([A-Za-z_$][\w$]*)`)
	exportList  = regexp.MustCompile(`(?m)^export\s*\{([^}]*)\}`)
	elementID   = regexp.MustCompile(`(?:\$|getElementById)\('([A-Za-z][\w-]*)'\)`)
)

// exportsOf lists the names a module exports.
func exportsOf(src string) []string {
	var names []string
	for _, m := range exportDecl.FindAllStringSubmatch(src, -1) {
		names = append(names, m[1])
	}
	for _, m := range exportList.FindAllStringSubmatch(src, -1) {
		for _, part := range strings.Split(m[1], ",") {
			fields := strings.Fields(part)
			if len(fields) > 0 {
				names = append(names, fields[len(fields)-1])
			}
		}
	}
	return names
}

// TestNamedImportsExist checks that every name a module imports from
// another is exported there, so that a renamed export cannot leave a page
// that fails to load (modules link before any of them runs).
func TestNamedImportsExist(t *testing.T) {
	hh, err := load(files)
	if err != nil {
		t.Fatal(err)
	}
	for rel, a := range hh.assets {
		if !strings.HasSuffix(rel, ".js") {
			continue
		}
		dir := rel[:strings.LastIndex(rel, "/")+1]
		for _, m := range namedImport.FindAllStringSubmatch(string(a.content), -1) {
			target := hh.assets[dir+strings.TrimPrefix(m[2], "./")]
			if target == nil {
				continue // TestReferencesResolve reports it
			}
			exported := exportsOf(string(target.content))
			for _, part := range strings.Split(m[1], ",") {
				fields := strings.Fields(part)
				if len(fields) == 0 {
					continue
				}
				if !slices.Contains(exported, fields[0]) {
					t.Errorf("%s imports %s from %s, which does not export it", rel, fields[0], m[2])
				}
			}
		}
	}
}

// modulesOf lists the modules a page's script loads, itself included,
// following imports.
func modulesOf(hh *handler, entry string) []string {
	seen := []string{}
	var visit func(rel string)
	visit = func(rel string) {
		if slices.Contains(seen, rel) || hh.assets[rel] == nil {
			return
		}
		seen = append(seen, rel)
		dir := rel[:strings.LastIndex(rel, "/")+1]
		for _, m := range importRef.FindAllStringSubmatch(string(hh.assets[rel].content), -1) {
			visit(dir + strings.TrimPrefix(m[1], "./"))
		}
	}
	visit(entry)
	return seen
}

// TestElementsExist checks that every element a page's modules look up by a
// fixed id ($('x') or getElementById('x')) is in that page, so that shared
// modules (sign-in, the reason dialog) find what they need on every page
// that loads them.
func TestElementsExist(t *testing.T) {
	hh, err := load(files)
	if err != nil {
		t.Fatal(err)
	}
	script := regexp.MustCompile(`<script type="module" src="/static/([^"]+)"`)
	for path, file := range pages {
		html := string(hh.assets[file].content)
		for _, m := range script.FindAllStringSubmatch(html, -1) {
			for _, rel := range modulesOf(hh, m[1]) {
				for _, id := range elementID.FindAllStringSubmatch(string(hh.assets[rel].content), -1) {
					if !strings.Contains(html, `id="`+id[1]+`"`) {
						t.Errorf("page %s: %s looks up #%s, which the page does not have", path, rel, id[1])
					}
				}
			}
		}
	}
}

// TestModulesParse has Node.js check the syntax of every module, where Node
// is installed (the browser tests load them all in Chromium either way).
func TestModulesParse(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed; the browser tests still load every page's modules")
	}
	hh, err := load(files)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for rel, a := range hh.assets {
		if !strings.HasSuffix(rel, ".js") {
			continue
		}
		// .mjs: Node parses it as an ES module, as browsers do.
		p := filepath.Join(dir, strings.ReplaceAll(strings.TrimSuffix(rel, ".js"), "/", "_")+".mjs")
		if err := os.WriteFile(p, a.content, 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(node, "--check", p).CombinedOutput(); err != nil {
			t.Errorf("%s does not parse: %v\n%s", rel, err, out)
		}
	}
}
