// Command sluice is an HAProxy-style load balancer and Kubernetes ingress
// controller. Subcommands:
//
//	sluice run -f FILE         serve a config file (no Kubernetes)
//	sluice check -f FILE       validate a config file, like haproxy -c
//	sluice controller [flags]  serve the Ingresses of a cluster
//	sluice translate -f FILE   what the controller makes of manifest files
//	sluice version             print version information
package main

import (
	"fmt"
	"os"
)

func main() {
	os.Exit(dispatch(os.Args[1:]))
}

const usage = `usage: sluice <command> [flags]

commands:
  run -f FILE        serve a config file
  check -f FILE      validate a config file (exit 0 when valid)
  controller         serve the Ingresses of a Kubernetes cluster
  translate -f FILE  print the table the controller would make of manifest files
  version            print version information

Run 'sluice <command> -h' for the flags of a command.
`

func dispatch(args []string) int {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return 2
	}
	switch args[0] {
	case "run":
		return runCmd(args[1:])
	case "check":
		return checkCmd(args[1:])
	case "controller":
		return controllerCmd(args[1:])
	case "translate":
		return translateCmd(args[1:], os.Stdout, os.Stderr)
	case "version", "--version", "-v":
		return versionCmd()
	case "help", "-h", "--help":
		fmt.Print(usage)
		return 0
	}
	fmt.Fprintf(os.Stderr, "sluice: unknown command %q\n\n%s", args[0], usage)
	return 2
}
