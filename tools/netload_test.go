package tools

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// netload runs the TCP workloads of the network tools' cases:
//
//	pair N SEND REPLY HOLD   N loopback connections, one after the other,
//	                         in this process: the client sends SEND bytes
//	                         and half-closes, the server reads them all,
//	                         sends REPLY bytes back and closes, HOLD after
//	                         the connection was made. It prints
//	                         SPORT=port (the server's), CPORT1=port...
//	                         (the clients') and WPID=pid, for $VARS.
//	serve ADDR N PATH        accept N connections on ADDR, one after the
//	                         other, each read to its end and closed;
//	                         PATH is made once it listens
//	client ADDR              connect to ADDR and do what standard input
//	                         says, a line each: "send BYTES", "sleep
//	                         DURATION", "close" (half-close, read to the
//	                         end, close; also at the end of the input)
//	backlog BACKLOG M        listen on loopback with BACKLOG, make M
//	                         connections nothing accepts, print SPORT=port
//	                         once they are made, close them all
//	tundelay NSA NSB DELAY PATH
//	                         join the network namespaces NSA and NSB
//	                         through a TUN device in each (10.201.0.1 in
//	                         NSA, 10.201.0.2 in NSB) and forward their
//	                         packets after DELAY, each way; PATH.ready is
//	                         made when it forwards
func netload(args []string) error {
	switch args[0] {
	case "pair":
		if len(args) != 5 {
			return errors.New("pair N SEND REPLY HOLD")
		}
		n, err1 := strconv.Atoi(args[1])
		send, err2 := strconv.Atoi(args[2])
		reply, err3 := strconv.Atoi(args[3])
		hold, err4 := time.ParseDuration(args[4])
		if err := errors.Join(err1, err2, err3, err4); err != nil {
			return err
		}
		return pair(n, send, reply, hold)
	case "serve":
		if len(args) != 4 {
			return errors.New("serve ADDR N PATH")
		}
		n, err := strconv.Atoi(args[2])
		if err != nil {
			return err
		}
		l, err := net.Listen("tcp", args[1])
		if err != nil {
			return err
		}
		defer l.Close()
		if err := os.WriteFile(args[3], nil, 0o600); err != nil {
			return err
		}
		for range n {
			c, err := l.Accept()
			if err != nil {
				return err
			}
			if err := drain(c, 0); err != nil {
				return err
			}
		}
		return nil
	case "client":
		if len(args) != 2 {
			return errors.New("client ADDR")
		}
		return client(args[1], os.Stdin)
	case "backlog":
		if len(args) != 3 {
			return errors.New("backlog BACKLOG M")
		}
		backlog, err1 := strconv.Atoi(args[1])
		m, err2 := strconv.Atoi(args[2])
		if err := errors.Join(err1, err2); err != nil {
			return err
		}
		return fillBacklog(backlog, m)
	case "tundelay":
		if len(args) != 5 {
			return errors.New("tundelay NSA NSB DELAY PATH")
		}
		d, err := time.ParseDuration(args[3])
		if err != nil {
			return err
		}
		return tunDelay(args[1], args[2], d, args[4])
	}
	return fmt.Errorf("unknown workload %q", args[0])
}

// drain reads c to its end, sends reply bytes and closes it.
func drain(c net.Conn, reply int) error {
	defer c.Close()
	if _, err := io.Copy(io.Discard, c); err != nil {
		return err
	}
	_, err := c.Write(make([]byte, reply))
	return err
}

func pair(n, send, reply int, hold time.Duration) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer l.Close()
	fmt.Printf("SPORT=%d\nWPID=%d\n", l.Addr().(*net.TCPAddr).Port, os.Getpid())
	for i := range n {
		done := make(chan error, 1)
		go func() {
			c, err := l.Accept()
			if err != nil {
				done <- err
				return
			}
			done <- drain(c, reply)
		}()
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			return err
		}
		fmt.Printf("CPORT%d=%d\n", i+1, c.LocalAddr().(*net.TCPAddr).Port)
		time.Sleep(hold)
		if _, err := c.Write(make([]byte, send)); err != nil {
			return err
		}
		if err := finish(c.(*net.TCPConn)); err != nil {
			return err
		}
		if err := <-done; err != nil {
			return err
		}
	}
	return nil
}

// finish half-closes c, reads what the peer sends to its end and closes
// it: the peer has all the data and has closed first.
func finish(c *net.TCPConn) error {
	defer c.Close()
	if err := c.CloseWrite(); err != nil {
		return err
	}
	_, err := io.Copy(io.Discard, c)
	return err
}

func client(addr string, commands io.Reader) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(commands)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 0:
		case f[0] == "send" && len(f) == 2:
			n, err := strconv.Atoi(f[1])
			if err != nil {
				return err
			}
			if _, err := c.Write(make([]byte, n)); err != nil {
				return err
			}
		case f[0] == "sleep" && len(f) == 2:
			d, err := time.ParseDuration(f[1])
			if err != nil {
				return err
			}
			time.Sleep(d)
		case f[0] == "close":
			return finish(c.(*net.TCPConn))
		default:
			return fmt.Errorf("client: unknown command %q", sc.Text())
		}
	}
	return finish(c.(*net.TCPConn))
}

func fillBacklog(backlog, m int) error {
	l, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(l)
	if err := unix.Bind(l, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return err
	}
	if err := unix.Listen(l, backlog); err != nil {
		return err
	}
	sa, err := unix.Getsockname(l)
	if err != nil {
		return err
	}
	port := sa.(*unix.SockaddrInet4).Port
	for range m {
		// On loopback the handshake is done when connect() returns: the
		// connection waits in the listener's queue.
		c, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(c)
		if err := unix.Connect(c, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: port}); err != nil {
			return err
		}
	}
	fmt.Printf("SPORT=%d\n", port)
	return nil
}

// tunDelay forwards packets between a TUN device in each namespace,
// DELAY late: a path whose round trip takes twice DELAY, which the kernel
// has no netem to make here.
func tunDelay(nsA, nsB string, delay time.Duration, path string) error {
	a, err := tunIn(nsA)
	if err != nil {
		return err
	}
	b, err := tunIn(nsB)
	if err != nil {
		return err
	}
	for _, c := range [][]string{
		{"-n", nsA, "addr", "add", "10.201.0.1", "peer", "10.201.0.2", "dev", "fdelay0"},
		{"-n", nsA, "link", "set", "fdelay0", "up"},
		{"-n", nsB, "addr", "add", "10.201.0.2", "peer", "10.201.0.1", "dev", "fdelay0"},
		{"-n", nsB, "link", "set", "fdelay0", "up"},
	} {
		if out, err := exec.Command("ip", c...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s: %v: %s", strings.Join(c, " "), err, out)
		}
	}
	errs := make(chan error, 2)
	go func() { errs <- forward(a, b, delay) }()
	go func() { errs <- forward(b, a, delay) }()
	if err := os.WriteFile(path+".ready", nil, 0o600); err != nil {
		return err
	}
	return <-errs
}

// tunIn makes the TUN device fdelay0 in the network namespace ns.
func tunIn(ns string) (int, error) {
	// The workload's thread is locked: it may change namespaces and
	// return to its own.
	self, err := unix.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	defer unix.Close(self)
	target, err := unix.Open("/run/netns/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	defer unix.Close(target)
	if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
		return -1, err
	}
	defer unix.Setns(self, unix.CLONE_NEWNET)
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	ifr, err := unix.NewIfreq("fdelay0")
	if err != nil {
		return -1, err
	}
	ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("TUNSETIFF: %w", err)
	}
	return fd, nil
}

// forward writes each packet read from one TUN device to the other,
// delay after it was read, in order.
func forward(from, to int, delay time.Duration) error {
	type packet struct {
		data []byte
		due  time.Time
	}
	queue := make(chan packet, 4096)
	errs := make(chan error, 1)
	go func() {
		for p := range queue {
			time.Sleep(time.Until(p.due))
			if _, err := unix.Write(to, p.data); err != nil {
				errs <- err
				return
			}
		}
	}()
	buf := make([]byte, 65536)
	for {
		n, err := unix.Read(from, buf)
		if err != nil {
			return err
		}
		select {
		case err := <-errs:
			return err
		case queue <- packet{append([]byte(nil), buf[:n]...), time.Now().Add(delay)}:
		}
	}
}
