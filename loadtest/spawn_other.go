//go:build !linux

package loadtest

import "os/exec"

// dieWithParent: only Linux kills a child with its parent; elsewhere the
// server is stopped by Server.Stop, and outlives
// a tool that is killed.
func dieWithParent(*exec.Cmd) {}
