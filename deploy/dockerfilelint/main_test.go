package main

import (
	"os"
	"testing"
)

// The project's own Dockerfile passes; each kind of mistake the checks exist for is caught.
func TestLint(t *testing.T) {
	dt, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := lint("Dockerfile", dt); err != nil || n != 0 {
		t.Errorf("project Dockerfile: %d problems, %v", n, err)
	}
	for name, bad := range map[string]string{
		"secret in ENV":    "FROM scratch\nENV FAMILYHELP_SECRET_KEY=abc\n",
		"shell-form CMD":   "FROM scratch\nCMD /familyhelp serve\n",
		"lower-case AS":    "FROM golang:1.26 as build\nFROM scratch\nCOPY --from=build /x /x\n",
		"unknown command":  "FROM scratch\nRUNN true\n",
		"relative WORKDIR": "FROM scratch\nWORKDIR src\n",
	} {
		if n, err := lint(name, []byte(bad)); err == nil && n == 0 {
			t.Errorf("%s: no problem found in\n%s", name, bad)
		}
	}
}
