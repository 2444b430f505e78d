// Command profiled is the function's SCF entry point (the repository's main,
// Go1 runtime path) with a CPU profile written to $CPUPROFILE and an
// allocation profile to $MEMPROFILE when it gets SIGTERM: the driver's
// -profile flag runs it under the benchmark's load.
package main

import (
	"log"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/wxanalysis/wxanalysis/handler"
	"github.com/wxanalysis/wxanalysis/internal/scfrpc"
)

func main() {
	cpu, err := os.Create(os.Getenv("CPUPROFILE"))
	if err != nil {
		log.Fatal(err)
	}
	if err := pprof.StartCPUProfile(cpu); err != nil {
		log.Fatal(err)
	}
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	go func() {
		<-term
		pprof.StopCPUProfile()
		cpu.Close()
		if mem, err := os.Create(os.Getenv("MEMPROFILE")); err == nil {
			pprof.Lookup("allocs").WriteTo(mem, 0)
			mem.Close()
		}
		os.Exit(0)
	}()
	scfrpc.Start(handler.NewWarm(handler.FromEnv(os.Getenv), handler.DefaultWorkers)) // as main.go
}
