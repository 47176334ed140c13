// Command gobench runs goro's standard workloads (benches/../shared BENCHMARKS.md, W1..W12) on
// Go's own runtime, so that goro can be compared with Go in one sitting on one machine.
//
//	gobench -w W2 [-n N]
//
// Each workload times only its measured part, verifies its result (counts, sums) and exits
// non-zero with a message on stderr when it is wrong. On success it prints ONE line of JSON:
//
//	{"w":"W2","n":1000000,"value":286.1,"unit":"ns/rt","procs":2}
//
// GOMAXPROCS comes from the environment, as usual for Go. The C twin of this file is
// benches/c/goro_bench.c: same workloads, same sizes, same output; keep the two in step.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// defaultN is the size of each workload as BENCHMARKS.md fixes it (W10: window in ms).
var defaultN = map[string]int64{
	"W1": 1_000_000, "W2": 1_000_000, "W3": 10_000_000, "W4": 4_000_000, "W5": 4_000_000,
	"W6": 100_000, "W7": 10_000_000, "W8": 4_000_000, "W9": 1_000_000, "W10": 300,
	"W11": 1_000, "W11-5K": 5_000, "W11-10K": 10_000, "W11C": 10_000, "W12": 5_000,
}

// result is one workload's outcome; extra fields are printed after the fixed ones, sorted.
type result struct {
	value float64
	unit  string
	extra map[string]float64
}

func die(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "gobench: "+format+"\n", args...)
	os.Exit(1)
}

// triangle is 0 + 1 + ... + (n-1), the sum every workload that sends 0..n-1 must see.
func triangle(n int64) int64 { return n * (n - 1) / 2 }

// span is the half-open share [lo, hi) of 0..n-1 given to worker i of k.
func span(n int64, i, k int) (int64, int64) {
	return n * int64(i) / int64(k), n * int64(i+1) / int64(k)
}

// W1: spawn n goroutines that each increment an atomic counter; wait for all with a WaitGroup.
func w1(n int64) result {
	var counter atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	wg.Add(int(n))
	for i := int64(0); i < n; i++ {
		go func() {
			counter.Add(1)
			wg.Done()
		}()
	}
	wg.Wait()
	el := time.Since(start)
	if got := counter.Load(); got != n {
		die("W1: counter is %d, want %d", got, n)
	}
	return result{float64(el.Nanoseconds()) / float64(n), "ns/goroutine", nil}
}

// W2: two goroutines, two unbuffered channels, n round trips.
func w2(n int64) result {
	ping, pong := make(chan int64), make(chan int64)
	go func() {
		for v := range ping {
			pong <- v + 1
		}
		close(pong)
	}()
	start := time.Now()
	for i := int64(0); i < n; i++ {
		ping <- i
		if v := <-pong; v != i+1 {
			die("W2: round trip %d came back as %d", i, v)
		}
	}
	el := time.Since(start)
	close(ping)
	if _, ok := <-pong; ok {
		die("W2: pong not closed")
	}
	return result{float64(el.Nanoseconds()) / float64(n), "ns/rt", nil}
}

// W3: one producer, one consumer, a channel of capacity 1024, n ints.
func w3(n int64) result {
	ch := make(chan int64, 1024)
	start := time.Now()
	go func() {
		for i := int64(0); i < n; i++ {
			ch <- i
		}
		close(ch)
	}()
	var count, sum int64
	for v := range ch {
		count++
		sum += v
	}
	el := time.Since(start)
	if count != n || sum != triangle(n) {
		die("W3: received %d values summing to %d, want %d summing to %d", count, sum, n, triangle(n))
	}
	return result{unit: "M msg/s"}.fixRate(n, el)
}

// fixRate turns a message count and an elapsed time into millions per second.
func (r result) fixRate(n int64, el time.Duration) result {
	r.value = float64(n) / el.Seconds() / 1e6
	return r
}

// W4: 4 producers, 4 consumers, one channel of capacity 128, n ints in all.
func w4(n int64) result {
	const k = 4
	ch := make(chan int64, 128)
	var prod, cons sync.WaitGroup
	var count, sum atomic.Int64
	start := time.Now()
	prod.Add(k)
	cons.Add(k)
	for p := 0; p < k; p++ {
		lo, hi := span(n, p, k)
		go func() {
			for v := lo; v < hi; v++ {
				ch <- v
			}
			prod.Done()
		}()
	}
	for c := 0; c < k; c++ {
		go func() {
			var cnt, s int64
			for v := range ch {
				cnt++
				s += v
			}
			count.Add(cnt)
			sum.Add(s)
			cons.Done()
		}()
	}
	prod.Wait()
	close(ch)
	cons.Wait()
	el := time.Since(start)
	if count.Load() != n || sum.Load() != triangle(n) {
		die("W4: received %d values summing to %d, want %d summing to %d", count.Load(), sum.Load(), n, triangle(n))
	}
	return result{unit: "M msg/s"}.fixRate(n, el)
}

// W5: one consumer selecting over 4 channels of capacity 64, each fed by its own producer.
func w5(n int64) result {
	var chs [4]chan int64
	for i := range chs {
		chs[i] = make(chan int64, 64)
	}
	start := time.Now()
	for p := range chs {
		lo, hi := span(n, p, len(chs))
		ch := chs[p]
		go func() {
			for v := lo; v < hi; v++ {
				ch <- v
			}
			close(ch)
		}()
	}
	var count, sum int64
	var per [4]int64
	c0, c1, c2, c3 := chs[0], chs[1], chs[2], chs[3]
	for open := 4; open > 0; {
		var v int64
		var ok bool
		var idx int
		select {
		case v, ok = <-c0:
			idx = 0
			if !ok {
				c0 = nil
			}
		case v, ok = <-c1:
			idx = 1
			if !ok {
				c1 = nil
			}
		case v, ok = <-c2:
			idx = 2
			if !ok {
				c2 = nil
			}
		case v, ok = <-c3:
			idx = 3
			if !ok {
				c3 = nil
			}
		}
		if !ok {
			open--
			continue
		}
		per[idx]++
		count++
		sum += v
	}
	el := time.Since(start)
	if count != n || sum != triangle(n) {
		die("W5: received %d values summing to %d, want %d summing to %d", count, sum, n, triangle(n))
	}
	for p := range per {
		lo, hi := span(n, p, 4)
		if per[p] != hi-lo {
			die("W5: channel %d delivered %d values, want %d", p, per[p], hi-lo)
		}
	}
	return result{unit: "M msg/s"}.fixRate(n, el)
}

// vmRSS reads the resident set size of this process in bytes from /proc/self/status.
func vmRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		die("cannot read /proc/self/status: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "VmRSS:") {
			fields := strings.Fields(line)
			if len(fields) < 2 {
				break
			}
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				break
			}
			return kb * 1024
		}
	}
	die("no VmRSS line in /proc/self/status")
	return 0
}

// parked is W6 and W9: n goroutines, each parked receiving on its own unbuffered channel. The
// growth of VmRSS from before the first spawn to the moment all have started, divided by n, is
// the cost of one parked goroutine (its channel included); the time from the first spawn until
// all have started, divided by n, is the cost of one spawn. Then all are woken and joined.
func parked(name string, n int64) result {
	dummy := make(chan int64)
	chs := make([]chan int64, n)
	for i := range chs {
		chs[i] = dummy // touch every page of the slice now, so that it is not counted below
	}
	var ready, done sync.WaitGroup
	var sum atomic.Int64
	ready.Add(int(n))
	done.Add(int(n))
	runtime.GC()
	before := vmRSS()

	start := time.Now()
	for i := range chs {
		ch := make(chan int64)
		chs[i] = ch
		go func() {
			ready.Done()
			v := <-ch
			sum.Add(v)
			done.Done()
		}()
	}
	ready.Wait()
	spawnEl := time.Since(start)
	runtime.Gosched()
	after := vmRSS()

	wake := time.Now()
	for i, ch := range chs {
		ch <- int64(i)
	}
	done.Wait()
	wakeEl := time.Since(wake)
	if sum.Load() != triangle(n) {
		die("%s: woken goroutines summed %d, want %d", name, sum.Load(), triangle(n))
	}
	return result{float64(after-before) / float64(n), "B/goroutine", map[string]float64{
		"spawn_us": spawnEl.Seconds() * 1e6 / float64(n),
		"wake_us":  wakeEl.Seconds() * 1e6 / float64(n),
	}}
}

// W7: a ring of 503 goroutines joined by unbuffered channels; a token passed n hops.
func w7(n int64) result {
	const ring = 503
	var chs [ring]chan int64
	for i := range chs {
		chs[i] = make(chan int64)
	}
	winner := make(chan int, 1)
	var wg sync.WaitGroup
	wg.Add(ring)
	for i := 0; i < ring; i++ {
		in, out := chs[i], chs[(i+1)%ring]
		id := i
		go func() {
			defer wg.Done()
			for t := range in {
				if t == 0 {
					winner <- id
					return
				}
				out <- t - 1
			}
		}()
	}
	start := time.Now()
	chs[0] <- n
	id := <-winner
	el := time.Since(start)
	if id != int(n%ring) {
		die("W7: token ran out at goroutine %d, want %d", id, n%ring)
	}
	for i := range chs {
		close(chs[i])
	}
	wg.Wait()
	return result{float64(el.Nanoseconds()) / float64(n), "ns/hop", nil}
}

// jobData is what W8's jobs sum: job j sums jobData[(j+k) % 1024] for k in 0..99.
var jobData [1024]int64

func job(j int64) int64 {
	var s int64
	for k := int64(0); k < 100; k++ {
		s += jobData[(j+k)&1023]
	}
	return s
}

// W8: a pool of GOMAXPROCS workers draining n jobs from a job channel into a result channel.
func w8(n int64) result {
	for i := range jobData {
		jobData[i] = int64(i)*7 + 3
	}
	var rowSum [1024]int64
	for i := range rowSum {
		rowSum[i] = job(int64(i))
	}
	var want int64
	for j := int64(0); j < n; j++ {
		want += rowSum[j&1023]
	}

	workers := runtime.GOMAXPROCS(0)
	jobs, results := make(chan int64, 1024), make(chan int64, 1024)
	var wg sync.WaitGroup
	start := time.Now()
	go func() {
		for j := int64(0); j < n; j++ {
			jobs <- j
		}
		close(jobs)
	}()
	wg.Add(workers)
	for w := 0; w < workers; w++ {
		go func() {
			for j := range jobs {
				results <- job(j)
			}
			wg.Done()
		}()
	}
	go func() {
		wg.Wait()
		close(results)
	}()
	var count, sum int64
	for r := range results {
		count++
		sum += r
	}
	el := time.Since(start)
	if count != n || sum != want {
		die("W8: %d results summing to %d, want %d summing to %d", count, sum, n, want)
	}
	return result{unit: "M jobs/s", extra: map[string]float64{"workers": float64(workers)}}.fixRate(n, el)
}

// pingWindow runs round trips over ping/pong until the monotonic clock passes end and returns
// how many completed before end. The partner echoes v+1.
func pingWindow(ping, pong chan int64, end time.Time, next *int64, first *time.Time) int64 {
	var count int64
	for {
		ping <- *next
		if v := <-pong; v != *next+1 {
			die("W10: round trip %d came back as %d", *next, v)
		}
		*next++
		t := time.Now()
		if first != nil && count == 0 {
			*first = t
		}
		if !t.Before(end) {
			return count
		}
		count++
	}
}

// W10: two goroutines sit ms milliseconds in a plain blocking nanosleep while two others
// ping-pong; the round trips they manage in that window, divided by those in an equal window
// with no blockers, is the result (1.0 = the blockers did no harm).
//
// The window with blockers starts when the later blocker enters its system call, as the
// blocker itself records it, not when the pinger hears of it: a pinger starved of a thread
// is charged for the whole starvation.
func w10(ms int64) result {
	window := time.Duration(ms) * time.Millisecond
	ping, pong := make(chan int64), make(chan int64)
	go func() {
		for v := range ping {
			pong <- v + 1
		}
		close(pong)
	}()
	var next int64

	// Warm up, then the window with no blockers.
	pingWindow(ping, pong, time.Now().Add(window/10), &next, nil)
	base := pingWindow(ping, pong, time.Now().Add(window), &next, nil)

	entered := make(chan time.Time, 2)
	slept := make(chan time.Duration, 2)
	for b := 0; b < 2; b++ {
		go func() {
			ts := syscall.NsecToTimespec(window.Nanoseconds())
			t0 := time.Now()
			entered <- t0
			for {
				// EINTR (a signal, e.g. the runtime's preemption) cuts the sleep short: sleep the rest.
				var rem syscall.Timespec
				err := syscall.Nanosleep(&ts, &rem)
				if err == nil {
					break
				}
				if err != syscall.EINTR {
					die("W10: nanosleep: %v", err)
				}
				ts = rem
			}
			slept <- time.Since(t0)
		}()
	}
	t0, t1 := <-entered, <-entered
	if t1.Before(t0) {
		t0, t1 = t1, t0
	}
	_ = t0
	var first time.Time
	blocked := pingWindow(ping, pong, t1.Add(window), &next, &first)
	for b := 0; b < 2; b++ {
		if d := <-slept; d < window {
			die("W10: a blocker slept only %v, want %v", d, window)
		}
	}
	close(ping)
	if _, ok := <-pong; ok {
		die("W10: pong not closed")
	}
	if base <= 0 {
		die("W10: no round trips at all in the window with no blockers")
	}
	return result{float64(blocked) / float64(base), "ratio", map[string]float64{
		"rt_base": float64(base), "rt_blocked": float64(blocked),
		// How long the pinger went without a round trip once both blockers were in.
		"starved_ms": max(float64(first.Sub(t1))/1e6, 0),
	}}
}

// W11: loopback TCP echo through Go's net package (the twin of goro_bench.c's W11: same
// sizes, rounds, measurement). W11-10K puts the clients in a second process (-w W11C).
// W12: n goroutines each blocked reading one byte from its own os.Pipe (Go's poller).

func procStatus(key string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		die("cannot open /proc/self/status: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, key) {
			fields := strings.Fields(line[len(key):])
			if len(fields) > 0 {
				v, err := strconv.ParseInt(fields[0], 10, 64)
				if err == nil {
					return v
				}
			}
		}
	}
	die("no %s line in /proc/self/status", key)
	return 0
}

// sampleThreads samples the OS thread count every 2 ms until stop is closed; the peak comes
// back on the returned channel.
func sampleThreads(stop chan struct{}) chan int64 {
	out := make(chan int64, 1)
	go func() {
		peak := procStatus("Threads:")
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				if v := procStatus("Threads:"); v > peak {
					peak = v
				}
				out <- peak
				return
			case <-t.C:
				if v := procStatus("Threads:"); v > peak {
					peak = v
				}
			}
		}
	}()
	return out
}

const w11Msg = 64

func w11Rounds(n int64) int64 {
	if n >= 20000 || 200000/n < 10 {
		return 10
	}
	return 200000 / n
}

func w11Serve(ln net.Listener, n int64, servers *sync.WaitGroup) {
	servers.Add(int(n))
	go func() {
		for i := int64(0); i < n; i++ {
			c, err := ln.Accept()
			if err != nil {
				die("W11: accept: %v", err)
			}
			go func(c net.Conn) {
				defer servers.Done()
				buf := make([]byte, w11Msg)
				for {
					k, err := c.Read(buf)
					if err == io.EOF {
						break
					}
					if err != nil {
						die("W11 server: read: %v", err)
					}
					if _, err := c.Write(buf[:k]); err != nil {
						die("W11 server: write: %v", err)
					}
				}
				c.Close()
			}(c)
		}
	}()
}

// w11Clients dials n connections to addr and runs the clients; returns the measured time.
func w11Clients(n int64, addr string) (time.Duration, int64) {
	rounds := w11Rounds(n)
	start := make(chan struct{})
	var clients sync.WaitGroup
	clients.Add(int(n))
	for i := int64(0); i < n; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			die("W11: dial %s (connection %d): %v", addr, i, err)
		}
		go func(c net.Conn, id int64) {
			defer clients.Done()
			<-start
			out := make([]byte, w11Msg)
			in := make([]byte, w11Msg)
			for r := int64(0); r < rounds; r++ {
				for k := range out {
					out[k] = byte('a' + (id+r)%26)
				}
				if _, err := c.Write(out); err != nil {
					die("W11 client: write: %v", err)
				}
				if _, err := io.ReadFull(c, in); err != nil {
					die("W11 client: read: %v", err)
				}
				if !bytes.Equal(in, out) {
					die("W11 client: the echo differs")
				}
			}
			c.Close()
		}(c, i)
	}
	t0 := time.Now()
	close(start)
	clients.Wait()
	return time.Since(t0), rounds
}

func w11(n int64) result {
	stop := make(chan struct{})
	peak := sampleThreads(stop)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		die("W11: listen: %v", err)
	}
	var servers sync.WaitGroup
	w11Serve(ln, n, &servers)
	el, rounds := w11Clients(n, ln.Addr().String())
	servers.Wait()
	ln.Close()
	close(stop)
	return result{float64(el.Nanoseconds()) / float64(n*rounds), "ns/rt", map[string]float64{
		"rounds": float64(rounds), "rss_mib": float64(procStatus("VmHWM:")) / 1024,
		"threads": float64(<-peak),
	}}
}

func w11c(n int64) result {
	port := os.Getenv("GORO_BENCH_PORT")
	if port == "" {
		die("W11C: GORO_BENCH_PORT is not set")
	}
	stop := make(chan struct{})
	peak := sampleThreads(stop)
	el, rounds := w11Clients(n, "127.0.0.1:"+port)
	close(stop)
	return result{float64(el.Nanoseconds()) / float64(n*rounds), "ns/rt", map[string]float64{
		"rounds": float64(rounds), "rss_mib": float64(procStatus("VmHWM:")) / 1024,
		"threads": float64(<-peak),
	}}
}

func w11TwoProcs(n int64) result {
	stop := make(chan struct{})
	peak := sampleThreads(stop)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		die("W11-10K: listen: %v", err)
	}
	var servers sync.WaitGroup
	w11Serve(ln, n, &servers)
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	self, err := os.Executable()
	if err != nil {
		die("W11-10K: %v", err)
	}
	cmd := exec.Command(self, "-w", "W11C", "-n", strconv.FormatInt(n, 10))
	cmd.Env = append(os.Environ(), "GORO_BENCH_PORT="+port)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		die("W11-10K: the client process failed: %v", err)
	}
	servers.Wait()
	ln.Close()
	close(stop)
	var rec map[string]any
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &rec); err != nil {
		die("W11-10K: client output %q: %v", out, err)
	}
	num := func(k string) float64 {
		v, ok := rec[k].(float64)
		if !ok {
			die("W11-10K: no %s in the client's output", k)
		}
		return v
	}
	return result{num("value"), "ns/rt", map[string]float64{
		"client_threads": num("threads"), "rounds": num("rounds"),
		"rss_mib": float64(procStatus("VmHWM:")) / 1024, "threads": float64(<-peak),
	}}
}

func w12(n int64) result {
	type pp struct{ r, w *os.File }
	ps := make([]pp, n)
	var parked, done sync.WaitGroup
	var got atomic.Int64
	parked.Add(int(n))
	done.Add(int(n))
	for i := range ps {
		r, w, err := os.Pipe()
		if err != nil {
			die("W12: pipe %d: %v", i, err)
		}
		ps[i] = pp{r, w}
		go func(r *os.File) {
			parked.Done()
			b := make([]byte, 1)
			if k, err := r.Read(b); k != 1 || err != nil {
				die("W12: read: %d %v", k, err)
			}
			got.Add(int64(b[0]))
			done.Done()
		}(r)
	}
	parked.Wait()
	time.Sleep(100 * time.Millisecond)
	threads := procStatus("Threads:")
	var want int64
	t0 := time.Now()
	for i := range ps {
		c := byte(1 + i%100)
		want += int64(c)
		if _, err := ps[i].w.Write([]byte{c}); err != nil {
			die("W12: write: %v", err)
		}
	}
	done.Wait()
	el := time.Since(t0)
	if got.Load() != want {
		die("W12: read %d, want %d", got.Load(), want)
	}
	for i := range ps {
		ps[i].r.Close()
		ps[i].w.Close()
	}
	return result{float64(el.Nanoseconds()) / float64(n) / 1000, "us/wake",
		map[string]float64{"threads": float64(threads)}}
}

func fmtFloat(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }

func main() {
	w := flag.String("w", "", "workload, W1..W10")
	n := flag.Int64("n", 0, "size (0 = the workload's standard size; W10: window in ms)")
	flag.Parse()
	name := strings.ToUpper(*w)
	def, ok := defaultN[name]
	if !ok {
		die("usage: gobench -w W1..W12 [-n N] (got -w %q)", *w)
	}
	size := *n
	if size == 0 {
		size = def
	}
	if size < 1 {
		die("-n must be positive, got %d", size)
	}
	var r result
	switch name {
	case "W1":
		r = w1(size)
	case "W2":
		r = w2(size)
	case "W3":
		r = w3(size)
	case "W4":
		r = w4(size)
	case "W5":
		r = w5(size)
	case "W6", "W9":
		r = parked(name, size)
	case "W7":
		r = w7(size)
	case "W8":
		r = w8(size)
	case "W10":
		r = w10(size)
	case "W11", "W11-5K":
		r = w11(size)
	case "W11-10K":
		r = w11TwoProcs(size)
	case "W11C":
		r = w11c(size)
	case "W12":
		r = w12(size)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `{"w":%q,"n":%d,"value":%s,"unit":%q,"procs":%d`,
		name, size, fmtFloat(r.value), r.unit, runtime.GOMAXPROCS(0))
	keys := make([]string, 0, len(r.extra))
	for k := range r.extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, `,%q:%s`, k, fmtFloat(r.extra[k]))
	}
	b.WriteString("}")
	fmt.Println(b.String())
}
