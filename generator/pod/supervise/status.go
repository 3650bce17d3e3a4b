package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
)

// State of the supervised child as the status file reports it.
const (
	StateStarting   = "starting"    // written before the child starts: the status file is writable
	StateRunning    = "running"     // the child runs; a status left in this state means the supervisor died
	StateExited     = "exited"      // the child exited by itself: exitCode is its exit code
	StateSignaled   = "signaled"    // a signal ended it: signal names it, exitCode is 128 + its number
	StateNotStarted = "not-started" // it could not be started: error says why
)

// Why oomKilled is true.
const (
	OOMEvidenceCgroup  = "cgroup"  // the cgroup's oom_kill counter went up during the run
	OOMEvidenceSigkill = "sigkill" // SIGKILL that neither the deadline nor a stop request sent: likely the OOM killer
)

// Status is the JSON document the supervisor writes. Fields are declared in sorted order so
// the file's keys are sorted; absent values are null, never omitted.
type Status struct {
	CgroupCPUSeconds      *float64 `json:"cgroupCpuSeconds"`
	CgroupNote            *string  `json:"cgroupNote"`
	CgroupPeakMemoryBytes *int64   `json:"cgroupPeakMemoryBytes"`
	CPUSeconds            float64  `json:"cpuSeconds"`
	DeadlineExceeded      bool     `json:"deadlineExceeded"`
	DurationMs            int64    `json:"durationMs"`
	EndedAt               *string  `json:"endedAt"`
	Error                 *string  `json:"error"`
	ExitCode              *int     `json:"exitCode"`
	InterruptedBy         *string  `json:"interruptedBy"`
	LogBytes              int64    `json:"logBytes"`
	LogTruncated          bool     `json:"logTruncated"`
	MaxRssBytes           int64    `json:"maxRssBytes"`
	OOMEvidence           *string  `json:"oomEvidence"`
	OOMKilled             bool     `json:"oomKilled"`
	Signal                *string  `json:"signal"`
	StartedAt             *string  `json:"startedAt"`
	State                 string   `json:"state"`
	Version               int      `json:"version"`
}

// StatusVersion changes when a field changes meaning.
const StatusVersion = 1

// WriteStatus writes the status atomically: a temporary file beside it, then a rename.
func WriteStatus(path string, status Status) error {
	status.Version = StatusVersion
	data, err := json.MarshalIndent(status, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	temp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+"."+strconv.Itoa(os.Getpid())+".tmp")
	if err := os.WriteFile(temp, data, 0o644); err != nil {
		return err
	}
	if err := os.Rename(temp, path); err != nil {
		_ = os.Remove(temp)
		return err
	}
	return nil
}
