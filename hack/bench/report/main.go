// Command report measures and summarises the side-by-side benchmark.
//
//	report record -out results.tsv -round 1 -scenario http-small -target haproxy \
//	       -session PID -load-cpu 0 -proxy-cpu 1 -- wrk ...
//	report table results.tsv
//
// record runs one load command, reads the proxy's CPU time and both cores'
// busy time from /proc around it, and appends one row. table prints one
// markdown table per scenario: medians over the measured rounds (round 0 is
// the warm-up), spread, and ratios to haproxy paired round by round.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "record":
		err = record(os.Args[2:])
	case "table":
		err = table(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "report %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: report record [flags] -- LOAD-COMMAND... | report table RESULTS.tsv")
	os.Exit(2)
}
