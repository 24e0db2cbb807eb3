//go:build !linux

package testsvc

import "os/exec"

// setParentDeathSignal does nothing where the kernel has no parent-death signal; the test's
// clean-up still stops the server.
func setParentDeathSignal(*exec.Cmd) {}
