package output

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// monotonicOffset is the wall-clock time of CLOCK_MONOTONIC's zero, which
// turns nsecs values into dates.
func monotonicOffset() time.Time {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return time.Unix(0, 0)
	}
	return time.Now().Add(-time.Duration(ts.Nano()))
}

// eventFormat is the Format of the event with ID id, which values such as
// timestamps and cgroup paths name instead of holding the text.
func (p *Printer) eventFormat(id uint64) string {
	for _, ev := range p.obj.Events {
		if ev.ID == id {
			return ev.Format
		}
	}
	return ""
}

// timestamp formats a strftime() value.
func (p *Printer) timestamp(id, ns uint64) string {
	format := p.eventFormat(id &^ TimestampEpoch)
	var t time.Time
	if id&TimestampEpoch != 0 {
		t = time.Unix(0, int64(ns))
	} else {
		t = p.bootBase.Add(time.Duration(ns))
	}
	return p.strftime(format, t.In(p.loc))
}

func (p *Printer) now() time.Time { return p.clock().In(p.loc) }

var (
	weekdays = []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
	months   = []string{"January", "February", "March", "April", "May", "June", "July",
		"August", "September", "October", "November", "December"}
)

// strftime formats t as C's strftime in the C locale does, plus bpftrace's
// %f (microseconds, 6 digits). Unknown conversions are copied as written.
func (p *Printer) strftime(format string, t time.Time) string {
	var b []byte
	pad := func(n, width int, fill byte) {
		s := strconv.Itoa(n)
		for i := len(s); i < width; i++ {
			b = append(b, fill)
		}
		b = append(b, s...)
	}
	hour12 := func() int {
		h := t.Hour() % 12
		if h == 0 {
			h = 12
		}
		return h
	}
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' || i+1 == len(format) {
			b = append(b, c)
			continue
		}
		i++
		switch format[i] {
		case 'a':
			b = append(b, weekdays[t.Weekday()][:3]...)
		case 'A':
			b = append(b, weekdays[t.Weekday()]...)
		case 'b', 'h':
			b = append(b, months[t.Month()-1][:3]...)
		case 'B':
			b = append(b, months[t.Month()-1]...)
		case 'c':
			b = append(b, p.strftime("%a %b %e %H:%M:%S %Y", t)...)
		case 'C':
			pad(t.Year()/100, 2, '0')
		case 'd':
			pad(t.Day(), 2, '0')
		case 'D', 'x':
			b = append(b, p.strftime("%m/%d/%y", t)...)
		case 'e':
			pad(t.Day(), 2, ' ')
		case 'f':
			pad(t.Nanosecond()/1000, 6, '0')
		case 'F':
			b = append(b, p.strftime("%Y-%m-%d", t)...)
		case 'g':
			y, _ := t.ISOWeek()
			pad(y%100, 2, '0')
		case 'G':
			y, _ := t.ISOWeek()
			pad(y, 0, '0')
		case 'H':
			pad(t.Hour(), 2, '0')
		case 'I':
			pad(hour12(), 2, '0')
		case 'j':
			pad(t.YearDay(), 3, '0')
		case 'k':
			pad(t.Hour(), 2, ' ')
		case 'l':
			pad(hour12(), 2, ' ')
		case 'm':
			pad(int(t.Month()), 2, '0')
		case 'M':
			pad(t.Minute(), 2, '0')
		case 'n':
			b = append(b, '\n')
		case 'p':
			if t.Hour() < 12 {
				b = append(b, "AM"...)
			} else {
				b = append(b, "PM"...)
			}
		case 'P':
			if t.Hour() < 12 {
				b = append(b, "am"...)
			} else {
				b = append(b, "pm"...)
			}
		case 'r':
			b = append(b, p.strftime("%I:%M:%S %p", t)...)
		case 'R':
			b = append(b, p.strftime("%H:%M", t)...)
		case 's':
			b = strconv.AppendInt(b, t.Unix(), 10)
		case 'S':
			pad(t.Second(), 2, '0')
		case 't':
			b = append(b, '\t')
		case 'T', 'X':
			b = append(b, p.strftime("%H:%M:%S", t)...)
		case 'u':
			wd := int(t.Weekday())
			if wd == 0 {
				wd = 7
			}
			pad(wd, 0, '0')
		case 'U':
			pad((t.YearDay()+6-int(t.Weekday()))/7, 2, '0')
		case 'V':
			_, w := t.ISOWeek()
			pad(w, 2, '0')
		case 'w':
			pad(int(t.Weekday()), 0, '0')
		case 'W':
			pad((t.YearDay()+6-(int(t.Weekday())+6)%7)/7, 2, '0')
		case 'y':
			pad(t.Year()%100, 2, '0')
		case 'Y':
			pad(t.Year(), 0, '0')
		case 'z':
			b = append(b, t.Format("-0700")...)
		case 'Z':
			b = append(b, t.Format("MST")...)
		case '%':
			b = append(b, '%')
		default:
			b = append(b, '%', format[i])
		}
	}
	return string(b)
}

// userNames maps uids to names from a passwd file, read on first use.
type userNames struct {
	path  string
	names map[uint64]string
}

func newUserNames(path string) *userNames { return &userNames{path: path} }

// name is the user name of uid, or the uid in decimal when it has none.
func (u *userNames) name(uid uint64) string {
	if u.names == nil {
		u.names = map[uint64]string{}
		if f, err := os.Open(u.path); err == nil {
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				parts := strings.SplitN(sc.Text(), ":", 4)
				if len(parts) < 3 {
					continue
				}
				if id, err := strconv.ParseUint(parts[2], 10, 32); err == nil {
					if _, dup := u.names[id]; !dup {
						u.names[id] = parts[0]
					}
				}
			}
			f.Close()
		}
	}
	if n, ok := u.names[uid]; ok {
		return n
	}
	return strconv.FormatUint(uid, 10)
}
