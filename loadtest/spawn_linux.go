package loadtest

import (
	"os/exec"
	"syscall"
)

// dieWithParent has the server die with the tool, whatever ends it.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
