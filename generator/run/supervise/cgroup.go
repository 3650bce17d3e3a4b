package main

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Cgroup reads the memory accounting of the cgroup the supervisor (and so the algorithm) runs in:
// the first readable file of each list wins. Inside a container the cgroup is the container's.
type Cgroup struct {
	// Files with an "oom_kill N" line: cgroup v2 memory.events, cgroup v1 memory.oom_control.
	OOMFiles []string
	// Files holding the peak memory in bytes: v2 memory.peak, v1 memory.max_usage_in_bytes.
	PeakFiles []string
}

// DefaultCgroup finds the supervisor's own memory cgroup under /sys/fs/cgroup, v2 or v1.
func DefaultCgroup() Cgroup {
	var cg Cgroup
	v2, v1 := ownCgroupPaths("/proc/self/cgroup")
	if v2 != "" {
		cg.OOMFiles = append(cg.OOMFiles, filepath.Join("/sys/fs/cgroup", v2, "memory.events"))
		cg.PeakFiles = append(cg.PeakFiles, filepath.Join("/sys/fs/cgroup", v2, "memory.peak"))
	}
	// A cgroup namespace (or a container runtime's bind mount) shows the own cgroup at the root.
	cg.OOMFiles = append(cg.OOMFiles, "/sys/fs/cgroup/memory.events")
	cg.PeakFiles = append(cg.PeakFiles, "/sys/fs/cgroup/memory.peak")
	if v1 != "" {
		cg.OOMFiles = append(cg.OOMFiles, filepath.Join("/sys/fs/cgroup/memory", v1, "memory.oom_control"))
		cg.PeakFiles = append(cg.PeakFiles, filepath.Join("/sys/fs/cgroup/memory", v1, "memory.max_usage_in_bytes"))
	}
	cg.OOMFiles = append(cg.OOMFiles, "/sys/fs/cgroup/memory/memory.oom_control")
	cg.PeakFiles = append(cg.PeakFiles, "/sys/fs/cgroup/memory/memory.max_usage_in_bytes")
	return cg
}

// ownCgroupPaths returns the v2 path ("0::/x") and the v1 memory controller's path ("4:memory:/x").
func ownCgroupPaths(file string) (v2 string, v1 string) {
	data, err := os.ReadFile(file)
	if err != nil {
		return "", ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			v2 = parts[2]
		}
		for _, controller := range strings.Split(parts[1], ",") {
			if controller == "memory" {
				v1 = parts[2]
			}
		}
	}
	return v2, v1
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
