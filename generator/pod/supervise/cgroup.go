package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Cgroup reads the accounting of the cgroup the supervisor (and so the algorithm) runs in: the
// first readable file of each list wins. Inside a container the cgroup is the container's, so it
// counts every process the algorithm started, whether or not anyone waited for it.
type Cgroup struct {
	// Files with an "oom_kill N" line: cgroup v2 memory.events, cgroup v1 memory.oom_control.
	OOMFiles []string
	// Files holding the peak memory in bytes: v2 memory.peak, v1 memory.max_usage_in_bytes.
	PeakFiles []string
	// The CPU time of the whole cgroup: v2 cpu.stat (usage_usec), v1 cpuacct.usage (nanoseconds).
	CPUFiles []CPUFile
}

// CPU accounting formats.
const (
	CPUStat      = "cpu.stat"      // cgroup v2: a "usage_usec N" line, microseconds
	CPUAcctUsage = "cpuacct.usage" // cgroup v1: one number, nanoseconds
)

// CPUFile is where a cgroup's CPU time is, and the list of the cgroup's processes beside it.
type CPUFile struct {
	Path   string
	Format string
	// Procs is the cgroup.procs of the same cgroup: its figure is the algorithm's only when the
	// supervisor is alone in the cgroup when the algorithm starts.
	Procs string
}

// DefaultCgroup finds the supervisor's own cgroup under /sys/fs/cgroup, v2 or v1.
func DefaultCgroup() Cgroup {
	var cg Cgroup
	v2, v1 := cgroupPaths("/proc/self/cgroup")
	if v2 != "" {
		cg.OOMFiles = append(cg.OOMFiles, filepath.Join("/sys/fs/cgroup", v2, "memory.events"))
		cg.PeakFiles = append(cg.PeakFiles, filepath.Join("/sys/fs/cgroup", v2, "memory.peak"))
		cg.CPUFiles = append(cg.CPUFiles, cpuFile(filepath.Join("/sys/fs/cgroup", v2), CPUStat))
	}
	// A cgroup namespace (or a container runtime's bind mount) shows the own cgroup at the root.
	cg.OOMFiles = append(cg.OOMFiles, "/sys/fs/cgroup/memory.events")
	cg.PeakFiles = append(cg.PeakFiles, "/sys/fs/cgroup/memory.peak")
	cg.CPUFiles = append(cg.CPUFiles, cpuFile("/sys/fs/cgroup", CPUStat))
	if memory := v1["memory"]; memory != "" {
		cg.OOMFiles = append(cg.OOMFiles, filepath.Join("/sys/fs/cgroup/memory", memory, "memory.oom_control"))
		cg.PeakFiles = append(cg.PeakFiles, filepath.Join("/sys/fs/cgroup/memory", memory, "memory.max_usage_in_bytes"))
	}
	cg.OOMFiles = append(cg.OOMFiles, "/sys/fs/cgroup/memory/memory.oom_control")
	cg.PeakFiles = append(cg.PeakFiles, "/sys/fs/cgroup/memory/memory.max_usage_in_bytes")
	for _, mount := range []string{"cpuacct", "cpu,cpuacct", "cpuacct,cpu"} {
		if path := v1["cpuacct"]; path != "" {
			cg.CPUFiles = append(cg.CPUFiles, cpuFile(filepath.Join("/sys/fs/cgroup", mount, path), CPUAcctUsage))
		}
		cg.CPUFiles = append(cg.CPUFiles, cpuFile(filepath.Join("/sys/fs/cgroup", mount), CPUAcctUsage))
	}
	return cg
}

func cpuFile(dir string, format string) CPUFile {
	return CPUFile{Path: filepath.Join(dir, format), Format: format, Procs: filepath.Join(dir, "cgroup.procs")}
}

// ownCgroupPaths returns the v2 path ("0::/x") and the v1 memory controller's path ("4:memory:/x").
func ownCgroupPaths(file string) (v2 string, v1 string) {
	v2, controllers := cgroupPaths(file)
	return v2, controllers["memory"]
}

// cgroupPaths returns the v2 path ("0::/x") and the path of each v1 controller ("2:cpu,cpuacct:/x").
func cgroupPaths(file string) (string, map[string]string) {
	v1 := map[string]string{}
	data, err := os.ReadFile(file)
	if err != nil {
		return "", v1
	}
	v2 := ""
	for _, line := range strings.Split(string(data), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			v2 = parts[2]
		}
		for _, controller := range strings.Split(parts[1], ",") {
			if controller != "" {
				v1[controller] = parts[2]
			}
		}
	}
	return v2, v1
}

// readCPU reads a cgroup's CPU time so far.
func readCPU(file CPUFile) (time.Duration, error) {
	data, err := os.ReadFile(file.Path)
	if err != nil {
		return 0, err
	}
	switch file.Format {
	case CPUStat:
		for _, line := range strings.Split(string(data), "\n") {
			fields := strings.Fields(line)
			if len(fields) == 2 && fields[0] == "usage_usec" {
				usec, err := strconv.ParseInt(fields[1], 10, 64)
				if err != nil {
					return 0, err
				}
				return time.Duration(usec) * time.Microsecond, nil
			}
		}
		return 0, errors.New("no usage_usec line in " + file.Path)
	case CPUAcctUsage:
		ns, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
		if err != nil {
			return 0, err
		}
		return time.Duration(ns), nil
	}
	return 0, errors.New("unknown CPU accounting format " + file.Format)
}

// readProcs lists the processes of a cgroup (as this process's pid namespace sees them).
func readProcs(file string) ([]int, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, field := range strings.Fields(string(data)) {
		pid, err := strconv.Atoi(field)
		if err != nil {
			return nil, err
		}
		pids = append(pids, pid)
	}
	return pids, nil
}

// CPUMeter measures the CPU time of everything in the supervisor's cgroup from Start to Stop.
type CPUMeter struct {
	file  CPUFile
	start time.Duration
	// Note says why there is no figure ("" when there is one).
	Note string
}

// StartCPU takes the cgroup's CPU time before the algorithm starts. The figure counts only when
// the cgroup is the supervisor's alone (a container's): a cgroup shared with other processes
// (the supervisor outside a container) would bill their CPU to the algorithm.
func (c Cgroup) StartCPU(self int) *CPUMeter {
	notes := []string{}
	for _, file := range c.CPUFiles {
		usage, err := readCPU(file)
		if err != nil {
			continue
		}
		pids, err := readProcs(file.Procs)
		if err != nil {
			notes = append(notes, "cannot list the processes of the cgroup of "+file.Path+": "+err.Error())
			continue
		}
		if others := len(pids) - countOf(pids, self); others > 0 {
			notes = append(notes, fmt.Sprintf("the cgroup of %s is shared with %d other process(es), so its CPU time is not the algorithm's", file.Path, others))
			continue
		}
		return &CPUMeter{file: file, start: usage}
	}
	if len(notes) == 0 {
		notes = append(notes, "no cgroup CPU accounting is readable (cpu.stat, cpuacct.usage)")
	}
	return &CPUMeter{Note: strings.Join(notes, "; ")}
}

// Stop ends every process still in the cgroup but the supervisor (what the algorithm left behind:
// its CPU time ends and is counted), waits up to `wait` for them to go, and returns the CPU time
// the cgroup used since Start. ok is false when there is no figure; Note then says why.
func (m *CPUMeter) Stop(self int, wait time.Duration) (used time.Duration, ok bool) {
	if m.Note != "" {
		return 0, false
	}
	deadline := time.Now().Add(wait)
	for {
		pids, err := readProcs(m.file.Procs)
		if err != nil {
			m.Note = "cannot list the processes of the cgroup at the end: " + err.Error()
			return 0, false
		}
		alive := 0
		for _, pid := range pids {
			if pid == self || pid <= 0 || isZombie(pid) {
				continue
			}
			alive++
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		if alive == 0 || time.Now().After(deadline) {
			break
		}
		reapOrphans()
		time.Sleep(10 * time.Millisecond)
	}
	end, err := readCPU(m.file)
	if err != nil {
		m.Note = "cannot read the cgroup's CPU time at the end: " + err.Error()
		return 0, false
	}
	return end - m.start, true
}

func countOf(values []int, value int) int {
	n := 0
	for _, v := range values {
		if v == value {
			n++
		}
	}
	return n
}

// isZombie tells whether a process has ended and waits to be reaped (its CPU time is final).
func isZombie(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true // gone
	}
	text := string(data)
	end := strings.LastIndexByte(text, ')')
	return end < 0 || end+2 >= len(text) || text[end+2] == 'Z' || text[end+2] == 'X'
}

// reapOrphans collects the ended children the supervisor inherited as PID 1, without blocking.
func reapOrphans() {
	if os.Getpid() != 1 {
		return
	}
	for {
		var ws syscall.WaitStatus
		got, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil || got <= 0 {
			return
		}
	}
}

// OOMKills is the cgroup's count of OOM kills, and whether a file could be read.
func (c Cgroup) OOMKills() (int64, bool) {
	for _, file := range c.OOMFiles {
		f, err := os.Open(file)
		if err != nil {
			continue
		}
		scanner := bufio.NewScanner(f)
		for scanner.Scan() {
			fields := strings.Fields(scanner.Text())
			if len(fields) == 2 && fields[0] == "oom_kill" {
				if n, err := strconv.ParseInt(fields[1], 10, 64); err == nil {
					f.Close()
					return n, true
				}
			}
		}
		f.Close()
	}
	return 0, false
}

// PeakMemory is the cgroup's peak memory use in bytes, and whether a file could be read.
func (c Cgroup) PeakMemory() (int64, bool) {
	for _, file := range c.PeakFiles {
		data, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		if n, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64); err == nil {
			return n, true
		}
	}
	return 0, false
}
