package main

import (
	"fmt"
	"runtime"
)

// Set with -ldflags "-X main.version=... -X main.commit=..." by the Makefile
// and the Dockerfile.
var (
	version = "dev"
	commit  = "unknown"
)

func versionCmd() int {
	fmt.Printf("sluice %s (commit %s, %s)\n", version, commit, runtime.Version())
	return 0
}
