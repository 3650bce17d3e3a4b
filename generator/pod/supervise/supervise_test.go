package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// options for a run of argv in a fresh temporary directory, with no cgroup files.
func options(t *testing.T, argv ...string) Options {
	t.Helper()
	dir := t.TempDir()
	return Options{
		Argv:        argv,
		Deadline:    20 * time.Second,
		Grace:       time.Second,
		StatusFile:  filepath.Join(dir, "status.json"),
		LogFile:     filepath.Join(dir, "algorithm.log"),
		LogMaxBytes: 1 << 20,
		Workdir:     "/",
		Now:         time.Now,
	}
}

func mustSupervise(t *testing.T, opts Options) Status {
	t.Helper()
	status, err := Supervise(opts)
	if err != nil {
		t.Fatalf("Supervise: %v", err)
	}
	return status
}

func readLog(t *testing.T, opts Options) string {
	t.Helper()
	data, err := os.ReadFile(opts.LogFile)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func intValue(p *int) int {
	if p == nil {
		return -1
	}
	return *p
}

func stringValue(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

func TestExitCodes(t *testing.T) {
	for _, code := range []int{0, 1, 3, 255} {
		opts := options(t, "/bin/sh", "-c", "exit "+strconv.Itoa(code))

		status := mustSupervise(t, opts)

		if status.State != StateExited || intValue(status.ExitCode) != code || status.Signal != nil || status.OOMKilled || status.DeadlineExceeded {
			t.Errorf("exit %d: got %+v", code, status)
		}
	}
}

func TestSignalEndsTheChild(t *testing.T) {
	opts := options(t, "/bin/sh", "-c", "kill -USR1 $$")

	status := mustSupervise(t, opts)

	if status.State != StateSignaled || stringValue(status.Signal) != "SIGUSR1" || intValue(status.ExitCode) != 128+10 || status.OOMKilled {
		t.Errorf("got %+v", status)
	}
}

func TestSigkillNobodySentIsReportedAsLikelyOOM(t *testing.T) {
	opts := options(t, "/bin/sh", "-c", "kill -KILL $$")

	status := mustSupervise(t, opts)

	if stringValue(status.Signal) != "SIGKILL" || intValue(status.ExitCode) != 137 || !status.OOMKilled || stringValue(status.OOMEvidence) != OOMEvidenceSigkill {
		t.Errorf("got %+v", status)
	}
}

func TestCgroupOOMCounterDecides(t *testing.T) {
	events := filepath.Join(t.TempDir(), "memory.events")
	if err := os.WriteFile(events, []byte("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The child plays the kernel: the counter goes up while it runs, then it exits with 1.
	opts := options(t, "/bin/sh", "-c", "printf 'oom 2\\noom_kill 2\\n' > "+events+"; exit 1")
	opts.Cgroup = Cgroup{OOMFiles: []string{filepath.Join(t.TempDir(), "missing"), events}}

	status := mustSupervise(t, opts)

	if !status.OOMKilled || stringValue(status.OOMEvidence) != OOMEvidenceCgroup || intValue(status.ExitCode) != 1 {
		t.Errorf("got %+v", status)
	}
}

func TestUnchangedCgroupOOMCounterIsNoOOM(t *testing.T) {
	control := filepath.Join(t.TempDir(), "memory.oom_control")
	if err := os.WriteFile(control, []byte("oom_kill_disable 0\nunder_oom 0\noom_kill 4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	peak := filepath.Join(t.TempDir(), "memory.max_usage_in_bytes")
	if err := os.WriteFile(peak, []byte("1234567\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := options(t, "/bin/sh", "-c", "exit 0")
	opts.Cgroup = Cgroup{OOMFiles: []string{control}, PeakFiles: []string{peak}}

	status := mustSupervise(t, opts)

	if status.OOMKilled || status.OOMEvidence != nil || status.CgroupPeakMemoryBytes == nil || *status.CgroupPeakMemoryBytes != 1234567 {
		t.Errorf("got %+v", status)
	}
}

func TestDeadlineSendsSigterm(t *testing.T) {
	opts := options(t, "/bin/sleep", "30")
	opts.Deadline = 300 * time.Millisecond

	status := mustSupervise(t, opts)

	if !status.DeadlineExceeded || stringValue(status.Signal) != "SIGTERM" || status.OOMKilled {
		t.Errorf("got %+v", status)
	}
	if status.DurationMs < 300 || status.DurationMs > 3000 {
		t.Errorf("duration %d ms, want about 300", status.DurationMs)
	}
}

func TestDeadlineEscalatesToSigkillAfterGrace(t *testing.T) {
	// SIGTERM ignored by the shell and (inherited) by its sleep.
	opts := options(t, "/bin/sh", "-c", "trap '' TERM; /bin/sleep 30; exit 0")
	opts.Deadline = 200 * time.Millisecond
	opts.Grace = 300 * time.Millisecond

	status := mustSupervise(t, opts)

	if !status.DeadlineExceeded || stringValue(status.Signal) != "SIGKILL" || status.OOMKilled || status.OOMEvidence != nil {
		t.Errorf("got %+v", status)
	}
	if status.DurationMs < 500 || status.DurationMs > 4000 {
		t.Errorf("duration %d ms, want about 500", status.DurationMs)
	}
}

func TestDeadlineReachesTheWholeProcessGroup(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "survivor")
	// The background child would write the marker after 1.5 s unless the group is signalled.
	opts := options(t, "/bin/sh", "-c", "(/bin/sleep 1.5; echo alive > "+marker+") & wait")
	opts.Deadline = 200 * time.Millisecond

	status := mustSupervise(t, opts)
	time.Sleep(2 * time.Second)

	if !status.DeadlineExceeded {
		t.Errorf("got %+v", status)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("a process of the group outlived the deadline")
	}
}

func TestStopRequestIsForwarded(t *testing.T) {
	signals := make(chan os.Signal, 1)
	opts := options(t, "/bin/sleep", "30")
	opts.Signals = signals
	go func() {
		time.Sleep(200 * time.Millisecond)
		signals <- syscall.SIGTERM
	}()

	status := mustSupervise(t, opts)

	if stringValue(status.InterruptedBy) != "SIGTERM" || stringValue(status.Signal) != "SIGTERM" || status.DeadlineExceeded || status.OOMKilled {
		t.Errorf("got %+v", status)
	}
}

func TestBackgroundLeftoversDoNotHoldTheRun(t *testing.T) {
	opts := options(t, "/bin/sh", "-c", "/bin/sleep 30 & echo done")
	begin := time.Now()

	status := mustSupervise(t, opts)

	if elapsed := time.Since(begin); elapsed > 5*time.Second {
		t.Errorf("took %v", elapsed)
	}
	if intValue(status.ExitCode) != 0 || readLog(t, opts) != "done\n" {
		t.Errorf("got %+v, log %q", status, readLog(t, opts))
	}
}

func TestStdoutAndStderrGoToTheLog(t *testing.T) {
	opts := options(t, "/bin/sh", "-c", "echo out; echo err >&2; pwd")
	opts.Workdir = "/"

	status := mustSupervise(t, opts)

	if got := readLog(t, opts); got != "out\nerr\n/\n" {
		t.Errorf("log %q", got)
	}
	if status.LogBytes != int64(len("out\nerr\n/\n")) || status.LogTruncated {
		t.Errorf("got %+v", status)
	}
}

func TestLogCap(t *testing.T) {
	// 200000 bytes of output, a cap of 1000.
	opts := options(t, "/bin/sh", "-c", "i=0; while [ $i -lt 2000 ]; do printf '%099d\\n' $i; i=$((i+1)); done")
	opts.LogMaxBytes = 1000

	status := mustSupervise(t, opts)

	log := readLog(t, opts)
	if len(log) != 1000 || !strings.HasPrefix(log, strings.Repeat("0", 99)+"\n") {
		t.Errorf("log is %d bytes: %q...", len(log), log[:min(len(log), 120)])
	}
	if status.LogBytes != 200000 || !status.LogTruncated || intValue(status.ExitCode) != 0 {
		t.Errorf("got %+v", status)
	}
}

func TestUsageIsMeasured(t *testing.T) {
	opts := options(t, "/bin/sh", "-c", "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done")

	status := mustSupervise(t, opts)

	if status.CPUSeconds < 0.05 || status.MaxRssBytes < 100*1024 || status.DurationMs <= 0 {
		t.Errorf("got %+v", status)
	}
	started, err1 := time.Parse(time.RFC3339Nano, stringValue(status.StartedAt))
	ended, err2 := time.Parse(time.RFC3339Nano, stringValue(status.EndedAt))
	if err1 != nil || err2 != nil || ended.Before(started) || !strings.HasSuffix(*status.StartedAt, "Z") {
		t.Errorf("startedAt %s endedAt %s", stringValue(status.StartedAt), stringValue(status.EndedAt))
	}
}

func TestRunWritesStatusAndExitsZeroWhateverTheChildDid(t *testing.T) {
	opts := options(t)
	var stderr bytes.Buffer

	code := run([]string{"--deadline", "10", "--status", opts.StatusFile, "--log", opts.LogFile, "--", "/bin/sh", "-c", "echo failing; exit 42"}, &stderr)

	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, stderr.String())
	}
	status := readStatus(t, opts.StatusFile)
	if status["state"] != "exited" || status["exitCode"] != float64(42) || status["version"] != float64(1) {
		t.Errorf("status %v", status)
	}
}

func TestRunReportsAChildThatCannotStart(t *testing.T) {
	opts := options(t)
	var stderr bytes.Buffer

	code := run([]string{"--deadline", "10", "--status", opts.StatusFile, "--log", opts.LogFile, "--", "/nonexistent/algorithm"}, &stderr)

	if code != 127 {
		t.Errorf("exit %d, want 127", code)
	}
	status := readStatus(t, opts.StatusFile)
	message, _ := status["error"].(string)
	if status["state"] != "not-started" || status["exitCode"] != nil || !strings.Contains(message, "/nonexistent/algorithm") {
		t.Errorf("status %v", status)
	}
}

func TestRunRefusesToStartWithoutAWritableStatus(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "ran")
	var stderr bytes.Buffer

	code := run([]string{"--deadline", "10", "--status", "/nonexistent/dir/status.json", "--log", filepath.Join(t.TempDir(), "log"), "--", "/bin/sh", "-c", "touch " + marker}, &stderr)

	if code != exitStatusWrite || !strings.Contains(stderr.String(), "cannot write the status file /nonexistent/dir/status.json") {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("the child ran")
	}
}

func TestRunUsageErrors(t *testing.T) {
	dir := t.TempDir()
	status, log := filepath.Join(dir, "s"), filepath.Join(dir, "l")
	cases := map[string][]string{
		"--deadline must be a number of seconds > 0": {"--status", status, "--log", log, "--", "/bin/true"},
		"--status FILE is required":                  {"--deadline", "1", "--log", log, "--", "/bin/true"},
		"--log FILE is required":                     {"--deadline", "1", "--status", status, "--", "/bin/true"},
		"the command to run is missing after --":     {"--deadline", "1", "--status", status, "--log", log, "--"},
	}
	for want, args := range cases {
		var stderr bytes.Buffer

		code := run(args, &stderr)

		if code != exitUsage || !strings.Contains(stderr.String(), want) {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr.String())
		}
	}
}

func TestStatusKeysAreSortedAndNullsKept(t *testing.T) {
	path := filepath.Join(t.TempDir(), "status.json")

	if err := WriteStatus(path, Status{State: StateStarting}); err != nil {
		t.Fatal(err)
	}

	data, _ := os.ReadFile(path)
	var keys []string
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "  \"") {
			keys = append(keys, strings.SplitN(strings.TrimSpace(line), "\"", 3)[1])
		}
	}
	if !sort.StringsAreSorted(keys) || len(keys) != 19 || !strings.Contains(string(data), "\"exitCode\": null") || !strings.HasSuffix(string(data), "}\n") {
		t.Errorf("status file:\n%s", data)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
}

func TestOwnCgroupPaths(t *testing.T) {
	file := filepath.Join(t.TempDir(), "cgroup")
	if err := os.WriteFile(file, []byte("9:name=systemd:/\n4:memory:/process_api/abc\n1:cpu,cpuacct:/x\n0::/user.slice\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	v2, v1 := ownCgroupPaths(file)

	if v2 != "/user.slice" || v1 != "/process_api/abc" {
		t.Errorf("v2 %q v1 %q", v2, v1)
	}
}

func readStatus(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var status map[string]any
	if err := json.Unmarshal(data, &status); err != nil {
		t.Fatal(err)
	}
	return status
}

func TestMissingGateKeepsTheChildFromStarting(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "ran")
	opts := options(t, "/bin/sh", "-c", "touch "+marker)
	opts.Gate = filepath.Join(t.TempDir(), "inputs-verified")

	status, err := Supervise(opts)

	if err != nil || status.State != StateNotStarted || !strings.Contains(stringValue(status.Error), "inputs were not verified") || status.ExitCode != nil {
		t.Errorf("err %v, status %+v", err, status)
	}
	if _, statErr := os.Stat(marker); statErr == nil {
		t.Errorf("the child ran")
	}
}

func TestPresentGateLetsTheChildStart(t *testing.T) {
	opts := options(t, "/bin/sh", "-c", "exit 7")
	opts.Gate = filepath.Join(t.TempDir(), "inputs-verified")
	if err := os.WriteFile(opts.Gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}

	status := mustSupervise(t, opts)

	if status.State != StateExited || intValue(status.ExitCode) != 7 {
		t.Errorf("got %+v", status)
	}
}

func TestRunExitsZeroWhenTheGateIsMissing(t *testing.T) {
	opts := options(t)
	var stderr bytes.Buffer

	code := run([]string{"--deadline", "10", "--gate", filepath.Join(t.TempDir(), "missing"), "--status", opts.StatusFile, "--log", opts.LogFile, "--", "/bin/true"}, &stderr)

	if code != 0 || readStatus(t, opts.StatusFile)["state"] != "not-started" {
		t.Errorf("exit %d, status %v", code, readStatus(t, opts.StatusFile))
	}
}

func TestNotDumpableKeepsTheSameUserOut(t *testing.T) {
	if err := notDumpable(); err != nil {
		t.Fatalf("notDumpable: %v", err)
	}
	dumpable, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_GET_DUMPABLE, 0, 0)
	if errno != 0 || dumpable != 0 {
		t.Errorf("PR_GET_DUMPABLE = %d (errno %v), want 0", dumpable, errno)
	}
}

// fakeCPUCgroup is a cgroup whose CPU counter and process list are files the test (and the child) write.
func fakeCPUCgroup(t *testing.T, format string, usage string, pids ...int) (Cgroup, string, string) {
	t.Helper()
	dir := t.TempDir()
	file := cpuFile(dir, format)
	if err := os.WriteFile(file.Path, []byte(usage), 0o644); err != nil {
		t.Fatal(err)
	}
	var procs strings.Builder
	for _, pid := range pids {
		procs.WriteString(strconv.Itoa(pid) + "\n")
	}
	if err := os.WriteFile(file.Procs, []byte(procs.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return Cgroup{CPUFiles: []CPUFile{cpuFile(t.TempDir(), CPUStat), file}}, file.Path, file.Procs
}

func TestCgroupCPUCountsWhatTheReapedProcessesDoNot(t *testing.T) {
	// The child plays the kernel: while it runs, the cgroup's counter goes from 1.5 s to 9.75 s
	// (processes it never waited for), while the child itself uses next to nothing.
	cg, stat, _ := fakeCPUCgroup(t, CPUStat, "usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000\n", os.Getpid())
	opts := options(t, "/bin/sh", "-c", "printf 'usage_usec 9750000\\nuser_usec 9000000\\n' > "+stat)
	opts.Cgroup = cg

	status := mustSupervise(t, opts)

	if status.CgroupCPUSeconds == nil || *status.CgroupCPUSeconds != 8.25 || status.CgroupNote != nil || status.CPUSeconds > 1 {
		t.Errorf("got cgroup %v (%s), reaped %v", status.CgroupCPUSeconds, stringValue(status.CgroupNote), status.CPUSeconds)
	}
}

func TestCgroupV1CPUIsInNanoseconds(t *testing.T) {
	cg, usage, _ := fakeCPUCgroup(t, CPUAcctUsage, "1000000000\n", os.Getpid())
	opts := options(t, "/bin/sh", "-c", "echo 4250000000 > "+usage)
	opts.Cgroup = cg

	status := mustSupervise(t, opts)

	if status.CgroupCPUSeconds == nil || *status.CgroupCPUSeconds != 3.25 {
		t.Errorf("got %v (%s)", status.CgroupCPUSeconds, stringValue(status.CgroupNote))
	}
}

func TestSharedCgroupGivesNoCPUFigure(t *testing.T) {
	// Outside a container the cgroup holds other processes: their CPU is not the algorithm's.
	cg, stat, _ := fakeCPUCgroup(t, CPUStat, "usage_usec 0\n", os.Getpid(), os.Getppid())
	opts := options(t, "/bin/sh", "-c", "echo 'usage_usec 99000000' > "+stat)
	opts.Cgroup = cg

	status := mustSupervise(t, opts)

	if status.CgroupCPUSeconds != nil || !strings.Contains(stringValue(status.CgroupNote), "shared with 1 other process") {
		t.Errorf("got %v (%s)", status.CgroupCPUSeconds, stringValue(status.CgroupNote))
	}
}

func TestUnreadableCgroupSaysWhy(t *testing.T) {
	opts := options(t, "/bin/true")
	opts.Cgroup = Cgroup{CPUFiles: []CPUFile{cpuFile(t.TempDir(), CPUStat)}}

	status := mustSupervise(t, opts)

	if status.CgroupCPUSeconds != nil || !strings.Contains(stringValue(status.CgroupNote), "no cgroup CPU accounting is readable") {
		t.Errorf("got %v (%s)", status.CgroupCPUSeconds, stringValue(status.CgroupNote))
	}
}

func TestProcessesLeftInTheCgroupAreEndedBeforeTheCount(t *testing.T) {
	// A daemon leaves the child's process group (setsid) and joins the cgroup's list: the group
	// kill does not reach it, the meter does, so it cannot go on using CPU after the count.
	cg, _, procs := fakeCPUCgroup(t, CPUStat, "usage_usec 0\n", os.Getpid())
	pidFile := filepath.Join(t.TempDir(), "daemon.pid")
	script := "setsid sleep 60 & echo $! > " + pidFile + "; printf '%s\\n%s\\n' " + strconv.Itoa(os.Getpid()) + " $! > " + procs
	opts := options(t, "/bin/sh", "-c", script)
	opts.Cgroup = cg

	status := mustSupervise(t, opts)

	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	daemon, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	var ws syscall.WaitStatus
	_, _ = syscall.Wait4(daemon, &ws, syscall.WNOHANG, nil)
	if daemon <= 0 || !isZombie(daemon) || status.CgroupCPUSeconds == nil {
		t.Errorf("daemon %d still running (zombie or gone: %v); cgroup %v (%s)", daemon, isZombie(daemon), status.CgroupCPUSeconds, stringValue(status.CgroupNote))
	}
}

func TestCgroupPathsOfEveryController(t *testing.T) {
	file := filepath.Join(t.TempDir(), "cgroup")
	if err := os.WriteFile(file, []byte("4:memory:/m\n2:cpu,cpuacct:/c\n0::/u\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	v2, v1 := cgroupPaths(file)

	if v2 != "/u" || v1["memory"] != "/m" || v1["cpuacct"] != "/c" || v1["cpu"] != "/c" {
		t.Errorf("v2 %q v1 %v", v2, v1)
	}
}
