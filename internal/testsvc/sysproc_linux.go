package testsvc

import (
	"os/exec"
	"syscall"
)

// setParentDeathSignal has the kernel kill the server if the test binary dies without
// running its clean-ups (a panic, a -timeout), so no redis-server outlives its test run.
func setParentDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
