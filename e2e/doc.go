// Package e2e holds end-to-end tests of the whole system: a real Gatehouse
// process on loopback, driven through its HTTP API and /ws by real Pion
// peers and headless Chromium.
package e2e
