package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

// Options of one supervised run.
type Options struct {
	Argv        []string
	Deadline    time.Duration
	Grace       time.Duration
	StatusFile  string
	LogFile     string
	LogMaxBytes int64
	Workdir     string
	// Gate, when set, is a file that must exist for the child to start.
	Gate   string
	Cgroup Cgroup
	// Signals received by the supervisor itself (the pod is being stopped): forwarded to the child.
	Signals <-chan os.Signal
	Now     func() time.Time
	// Started, when set, is called once the child runs (the "running" status is written from it).
	Started func(Status)
}

// How long the log copy may go on after the child exited (descendants that left the child's
// process group can hold the pipe open).
const drainTimeout = 2 * time.Second

// Supervise runs the child and returns its status. The error is non-nil only when the child
// could not be started; the status then says why.
func Supervise(opts Options) (Status, error) {
	status := Status{State: StateNotStarted}
	fail := func(err error) (Status, error) {
		message := err.Error()
		status.Error = &message
		return status, err
	}

	if opts.Gate != "" {
		if _, err := os.Stat(opts.Gate); err != nil {
			message := "the gate file " + opts.Gate + " does not exist: the inputs were not verified, the algorithm was not started"
			status.Error = &message
			return status, nil
		}
	}

	logFile, err := os.OpenFile(opts.LogFile, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fail(fmt.Errorf("cannot open the log file: %w", err))
	}
	defer logFile.Close()
	reader, writer, err := os.Pipe()
	if err != nil {
		return fail(fmt.Errorf("cannot create the log pipe: %w", err))
	}
	defer reader.Close()

	cmd := exec.Command(opts.Argv[0], opts.Argv[1:]...)
	cmd.Dir = opts.Workdir
	cmd.Stdin = nil
	cmd.Stdout = writer
	cmd.Stderr = writer
	// Its own process group, so the deadline reaches everything the algorithm started.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}

	// The child's end is learned from SIGCHLD and wait4(WNOHANG), never from a blocking wait: a
	// blocked wait ties up an OS thread, and when a fork bomb has used up the pod's pids limit the
	// Go runtime cannot create another one to run the deadline (it would crash).
	children := make(chan os.Signal, 16)
	signal.Notify(children, syscall.SIGCHLD)
	defer signal.Stop(children)

	oomBefore, oomReadable := opts.Cgroup.OOMKills()
	self := os.Getpid()
	meter := opts.Cgroup.StartCPU(self)
	started := opts.Now()
	if err := cmd.Start(); err != nil {
		writer.Close()
		return fail(fmt.Errorf("cannot start %q: %w", opts.Argv[0], err))
	}
	writer.Close()
	pid := cmd.Process.Pid
	// The algorithm, not the supervisor, is what the OOM killer should pick (raising a score
	// needs no privilege; best effort, the child may already be gone).
	_ = os.WriteFile("/proc/"+strconv.Itoa(pid)+"/oom_score_adj", []byte("1000"), 0)

	status.State = StateRunning
	status.StartedAt = timestamp(started)
	if opts.Started != nil {
		opts.Started(status)
	}

	copied := make(chan logResult, 1)
	go func() { copied <- copyCapped(logFile, reader, opts.LogMaxBytes) }()

	deadline := time.NewTimer(opts.Deadline)
	defer deadline.Stop()
	// In case a SIGCHLD is missed (one signal can stand for several children).
	poll := time.NewTicker(500 * time.Millisecond)
	defer poll.Stop()
	var escalate <-chan time.Time
	var killedByUs bool
	var waitStatus syscall.WaitStatus
	var usage syscall.Rusage
	reaped := false
loop:
	for {
		if waitStatus, usage, reaped = reap(pid); reaped {
			break loop
		}
		select {
		case <-children:
		case <-poll.C:
		case <-deadline.C:
			status.DeadlineExceeded = true
			signalGroup(pid, syscall.SIGTERM)
			escalate = time.After(opts.Grace)
		case sig := <-opts.Signals:
			name := signalName(sig.(syscall.Signal))
			status.InterruptedBy = &name
			signalGroup(pid, syscall.SIGTERM)
			if escalate == nil {
				escalate = time.After(opts.Grace)
			}
		case <-escalate:
			killedByUs = true
			signalGroup(pid, syscall.SIGKILL)
			escalate = nil
		}
	}
	ended := opts.Now()
	// Whatever the child left behind in its group goes now.
	signalGroup(pid, syscall.SIGKILL)
	_ = reader.SetReadDeadline(time.Now().Add(drainTimeout))
	logged := <-copied

	status.EndedAt = timestamp(ended)
	status.DurationMs = ended.Sub(started).Milliseconds()
	status.LogBytes = logged.total
	status.LogTruncated = logged.total > logged.written
	if logged.err != nil {
		message := "writing the log failed: " + logged.err.Error()
		status.Error = &message
	}
	// What the supervisor reaped: the child and the descendants it waited for (not the others).
	cpu := time.Duration(usage.Utime.Nano() + usage.Stime.Nano())
	status.CPUSeconds = float64(cpu.Milliseconds()) / 1000
	status.MaxRssBytes = usage.Maxrss * 1024 // Linux reports KiB
	// What the cgroup counted: every process of the container, waited for or not.
	if used, ok := meter.Stop(self, drainTimeout); ok {
		seconds := float64(used.Milliseconds()) / 1000
		status.CgroupCPUSeconds = &seconds
	} else {
		note := meter.Note
		status.CgroupNote = &note
	}
	if peak, ok := opts.Cgroup.PeakMemory(); ok {
		status.CgroupPeakMemoryBytes = &peak
	}

	switch {
	case waitStatus.Signaled():
		sig := waitStatus.Signal()
		name := signalName(sig)
		code := 128 + int(sig)
		status.State = StateSignaled
		status.Signal = &name
		status.ExitCode = &code
	default:
		code := waitStatus.ExitStatus()
		status.State = StateExited
		status.ExitCode = &code
	}

	if oomAfter, ok := opts.Cgroup.OOMKills(); ok && oomReadable && oomAfter > oomBefore {
		status.OOMKilled = true
		evidence := OOMEvidenceCgroup
		status.OOMEvidence = &evidence
	} else if status.Signal != nil && *status.Signal == "SIGKILL" && !killedByUs {
		// Nobody here sent it: inside a container that is the kernel's OOM killer.
		status.OOMKilled = true
		evidence := OOMEvidenceSigkill
		status.OOMEvidence = &evidence
	}
	return status, nil
}

// reap collects the child's exit without blocking. As PID 1 (the container's init) the supervisor
// also reaps the orphans it inherits from the algorithm.
func reap(pid int) (syscall.WaitStatus, syscall.Rusage, bool) {
	target := pid
	if os.Getpid() == 1 {
		target = -1
	}
	for {
		var ws syscall.WaitStatus
		var ru syscall.Rusage
		got, err := syscall.Wait4(target, &ws, syscall.WNOHANG, &ru)
		if err == syscall.EINTR {
			continue
		}
		if err != nil || got <= 0 {
			return ws, ru, false
		}
		if got == pid {
			return ws, ru, true
		}
	}
}

type logResult struct {
	written int64
	total   int64
	err     error
}

// copyCapped writes at most max bytes of src to dst and reads (and counts) the rest until EOF,
// a read deadline, or an error.
func copyCapped(dst io.Writer, src io.Reader, max int64) logResult {
	var result logResult
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			result.total += int64(n)
			if room := max - result.written; room > 0 && result.err == nil {
				chunk := buf[:n]
				if int64(len(chunk)) > room {
					chunk = chunk[:room]
				}
				w, werr := dst.Write(chunk)
				result.written += int64(w)
				if werr != nil {
					result.err = werr
				}
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, os.ErrDeadlineExceeded) && result.err == nil {
				result.err = err
			}
			return result
		}
	}
}

// signalGroup signals the child's process group and the child itself (in case it left the group).
func signalGroup(pid int, sig syscall.Signal) {
	_ = syscall.Kill(-pid, sig)
	_ = syscall.Kill(pid, sig)
}

func timestamp(t time.Time) *string {
	s := t.UTC().Format("2006-01-02T15:04:05.000Z")
	return &s
}

var signalNames = map[syscall.Signal]string{
	syscall.SIGABRT: "SIGABRT", syscall.SIGALRM: "SIGALRM", syscall.SIGBUS: "SIGBUS", syscall.SIGFPE: "SIGFPE",
	syscall.SIGHUP: "SIGHUP", syscall.SIGILL: "SIGILL", syscall.SIGINT: "SIGINT", syscall.SIGKILL: "SIGKILL",
	syscall.SIGPIPE: "SIGPIPE", syscall.SIGQUIT: "SIGQUIT", syscall.SIGSEGV: "SIGSEGV", syscall.SIGSYS: "SIGSYS",
	syscall.SIGTERM: "SIGTERM", syscall.SIGTRAP: "SIGTRAP", syscall.SIGUSR1: "SIGUSR1", syscall.SIGUSR2: "SIGUSR2",
	syscall.SIGXCPU: "SIGXCPU", syscall.SIGXFSZ: "SIGXFSZ",
}

func signalName(sig syscall.Signal) string {
	if name, ok := signalNames[sig]; ok {
		return name
	}
	return "SIG" + strconv.Itoa(int(sig))
}

// startFailureExitCode follows the shell: 127 when the command does not exist, 126 when it cannot
// be executed, 125 for anything else that kept it from starting.
func startFailureExitCode(err error) int {
	switch {
	case errors.Is(err, exec.ErrNotFound), errors.Is(err, fs.ErrNotExist):
		return 127
	case errors.Is(err, fs.ErrPermission), errors.Is(err, syscall.ENOEXEC):
		return 126
	default:
		return 125
	}
}
