package main

import (
	"flag"
	"fmt"
	"os"

	"sluice.dev/sluice/config"
	"sluice.dev/sluice/dataplane"
)

// checkCmd validates a config file exactly as `run` would load it, with
// its certificates, without binding anything: exit 0 when valid, 1 with every error listed.
func checkCmd(args []string) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	file := fs.String("f", "", "config file to check")
	quiet := fs.Bool("q", false, "print nothing when the file is valid")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *file == "" {
		fmt.Fprintln(os.Stderr, "sluice check: -f FILE is required")
		return 2
	}
	cfg, warnings, err := loadConfig(*file)
	for _, w := range warnings {
		fmt.Fprintf(os.Stderr, "warning: %s\n", w)
	}
	if err == nil {
		// Certificates are files too: check loads them as run would.
		err = dataplane.CheckTLS(cfg)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if !*quiet {
		fmt.Printf("%s: configuration is valid\n", *file)
	}
	return 0
}

// loadConfig is the one way a config file becomes a model, shared by run,
// check and reloads.
func loadConfig(path string) (*config.Config, []config.Warning, error) {
	return config.ParseFile(path)
}
