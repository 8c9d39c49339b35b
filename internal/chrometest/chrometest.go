// Package chrometest opens pages in a real headless Chromium for tests,
// and fails them on any JavaScript error the page raises or request it
// makes off the disk.
package chrometest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"friday/internal/testenv"
)

// Page is a browser tab for one test.
type Page struct {
	t   testing.TB
	Ctx context.Context

	mu     sync.Mutex
	errors []string
}

// New starts Chromium (the Debian package's, which .ci/run installs) with
// a fresh profile and no network activity of its own, and opens a tab of
// width x height pixels. The browser stops when the test ends; the test
// fails if a page raised a JavaScript error or asked for anything that is
// not on the disk (the pages are files to mail, to open offline).
func New(t testing.TB, width, height int) *Page {
	t.Helper()
	exe := testenv.Tool(t, "chromium")
	dir := t.TempDir()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		// Pages open from disk and must need nothing else: a request for
		// anything off the disk fails, and its error fails the test.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND"),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(filepath.Join(dir, "profile")),
		chromedp.WindowSize(width, height),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTime := context.WithTimeout(ctx, 2*time.Minute)
	p := &Page{t: t, Ctx: ctx}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(width), int64(height))); err != nil {
		cancelTime()
		cancelTab()
		cancelAlloc()
		t.Fatalf("starting chromium: %v", err)
	}
	// The console's messages come from another goroutine: the marker
	// logged at the end tells that every earlier one has been seen.
	const marker = "chrometest: end of test"
	messages := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil || m.Text == marker {
				return
			}
			if m.Type == chromedp.ConsoleException || m.Type == chromedp.ConsoleError {
				p.mu.Lock()
				p.errors = append(p.errors, m.String())
				p.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](fmt.Sprintf("console.log(%q)", marker)))
		select {
		case <-done:
		case <-time.After(5 * time.Second):
		}
		cancelTime()
		cancelTab()
		cancelAlloc()
		p.mu.Lock()
		defer p.mu.Unlock()
		if len(p.errors) > 0 {
			t.Errorf("JavaScript errors (a failed load is a request off the disk):\n%s", strings.Join(p.errors, "\n"))
		}
	})
	return p
}

// Open loads a file into the tab.
func (p *Page) Open(path string) {
	p.t.Helper()
	abs, err := filepath.Abs(path)
	if err != nil {
		p.t.Fatal(err)
	}
	p.Do(chromedp.Navigate("file://" + abs))
}

// Do runs actions, failing the test on an error.
func (p *Page) Do(actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.Ctx, actions...); err != nil {
		p.t.Fatal(err)
	}
}

// Eval evaluates a JavaScript expression and decodes its value into T.
func Eval[T any](p *Page, expr string) T {
	p.t.Helper()
	v, err := chromedp.Run(p.Ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// Screenshot saves the visible part of the page as a PNG in the test's
// output directory when FRIDAY_SCREENSHOTS names one, for people to look
// at; it does nothing otherwise.
func (p *Page) Screenshot(name string) {
	p.t.Helper()
	dir := os.Getenv("FRIDAY_SCREENSHOTS")
	if dir == "" {
		return
	}
	b, err := chromedp.Run(p.Ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), b, 0o644); err != nil {
		p.t.Fatal(err)
	}
}
