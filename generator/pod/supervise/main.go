// Command supervise runs an algorithm inside the computing container of a datomspod instance.
//
//	supervise --deadline SECONDS --status FILE --log FILE [--log-max-bytes N] [--grace SECONDS] [--gate FILE] -- ARGV...
//
// It starts ARGV (the contract's entrypoint with $ALGO already expanded) in the working directory
// "/", sends the child's stdout and stderr to the log file up to a size cap, enforces the deadline
// (SIGTERM to the child's process group, then SIGKILL after the grace period) and writes a JSON
// status: exit code, signal, OOM kill, deadline, start, end, duration, CPU seconds, peak memory.
//
// With --gate FILE the child starts only if FILE exists (datomspace-in creates it once the code and
// the inputs matched the contract); otherwise the status is "not-started" with the reason, and the
// supervisor exits 0 so that the pod goes on and the receipt says why.
//
// It exits 0 whenever it wrote a final status, whatever the algorithm did, so that the pod goes on
// to datomspace-out and the oracle, which read the status. It exits non-zero only when the child
// could not be started (127: not found, 126: not executable; the status says why) or when the
// status itself could not be written (3), 4 when it cannot make itself non-dumpable (so that the
// algorithm, the same user, cannot ptrace it), and 2 on bad usage.
//
// Only the Go standard library is used; build it with CGO_ENABLED=0 for a static binary.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"sync"
	"syscall"
	"time"
)

const (
	exitUsage       = 2
	exitStatusWrite = 3
	exitProtect     = 4
)

func main() {
	// Under a fork bomb the pod's pids limit leaves no room for new threads, and the Go runtime
	// dies when it needs one and cannot create it. So: one P, the garbage collector off (the
	// supervisor allocates a few kilobytes), and a pool of idle threads made before the child
	// starts, which the runtime reuses instead of creating new ones.
	runtime.GOMAXPROCS(1)
	debug.SetGCPercent(-1)
	// The algorithm runs as the same user: while the supervisor is dumpable, the algorithm may
	// ptrace it or write its memory through /proc/1/mem, and so forge the status it writes.
	if err := notDumpable(); err != nil {
		fmt.Fprintf(os.Stderr, "supervise: cannot make itself non-dumpable: %v\n", err)
		os.Exit(exitProtect)
	}
	warmThreads(16)
	os.Exit(run(os.Args[1:], os.Stderr))
}

// notDumpable keeps processes of the same user out of the supervisor: no ptrace, and its
// /proc/<pid> files (mem, fd, environ) belong to root. The child gets its own flag back at exec.
func notDumpable() error {
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_DUMPABLE, 0, 0); errno != 0 {
		return errno
	}
	return nil
}

// warmThreads makes the runtime create n OS threads and leaves them idle: each of n goroutines
// holds its own thread (LockOSThread) until all do, then lets it go back to the idle pool.
func warmThreads(n int) {
	var locked, done sync.WaitGroup
	release := make(chan struct{})
	locked.Add(n)
	done.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			defer done.Done()
			runtime.LockOSThread()
			locked.Done()
			<-release
			runtime.UnlockOSThread()
		}()
	}
	locked.Wait()
	close(release)
	done.Wait()
}

func run(args []string, stderr io.Writer) int {
	opts, err := parseArgs(args, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "supervise: %v\n", err)
		fmt.Fprintln(stderr, "usage: supervise --deadline SECONDS --status FILE --log FILE [--log-max-bytes N] [--grace SECONDS] [--workdir DIR] [--gate FILE] -- ARGV...")
		return exitUsage
	}
	signals := make(chan os.Signal, 4)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(signals)
	opts.Signals = signals
	opts.Now = time.Now
	// Prove the status file can be written before anything runs: a run without a status is lost.
	if err := WriteStatus(opts.StatusFile, Status{State: StateStarting}); err != nil {
		fmt.Fprintf(stderr, "supervise: cannot write the status file %s: %v\n", opts.StatusFile, err)
		return exitStatusWrite
	}
	opts.Started = func(running Status) { _ = WriteStatus(opts.StatusFile, running) }
	status, startErr := Supervise(opts)
	if err := WriteStatus(opts.StatusFile, status); err != nil {
		fmt.Fprintf(stderr, "supervise: cannot write the status file %s: %v\n", opts.StatusFile, err)
		return exitStatusWrite
	}
	if startErr != nil {
		fmt.Fprintf(stderr, "supervise: %v\n", startErr)
		return startFailureExitCode(startErr)
	}
	return 0
}

func parseArgs(args []string, stderr io.Writer) (Options, error) {
	fs := flag.NewFlagSet("supervise", flag.ContinueOnError)
	fs.SetOutput(stderr)
	deadline := fs.Float64("deadline", 0, "seconds the algorithm may run (required, > 0)")
	grace := fs.Float64("grace", 10, "seconds between SIGTERM and SIGKILL once the deadline passed")
	statusFile := fs.String("status", "", "where the JSON status is written (required)")
	logFile := fs.String("log", "", "where the child's stdout and stderr go (required)")
	logMax := fs.Int64("log-max-bytes", 16<<20, "the log file's size cap; the rest of the output is counted and dropped")
	workdir := fs.String("workdir", "/", "the child's working directory")
	gate := fs.String("gate", "", "a file that must exist for the child to start (datomspace-in writes it once the inputs are verified)")
	if err := fs.Parse(args); err != nil {
		return Options{}, err
	}
	argv := fs.Args()
	switch {
	case *deadline <= 0:
		return Options{}, fmt.Errorf("--deadline must be a number of seconds > 0")
	case *grace < 0:
		return Options{}, fmt.Errorf("--grace must be >= 0")
	case *statusFile == "":
		return Options{}, fmt.Errorf("--status FILE is required")
	case *logFile == "":
		return Options{}, fmt.Errorf("--log FILE is required")
	case *logMax < 0:
		return Options{}, fmt.Errorf("--log-max-bytes must be >= 0")
	case len(argv) == 0:
		return Options{}, fmt.Errorf("the command to run is missing after --")
	}
	return Options{
		Argv:        argv,
		Deadline:    seconds(*deadline),
		Grace:       seconds(*grace),
		StatusFile:  *statusFile,
		LogFile:     *logFile,
		LogMaxBytes: *logMax,
		Workdir:     *workdir,
		Gate:        *gate,
		Cgroup:      DefaultCgroup(),
	}, nil
}

func seconds(s float64) time.Duration {
	return time.Duration(s * float64(time.Second))
}
