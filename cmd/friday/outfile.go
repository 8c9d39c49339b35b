package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// formatExtensions are the file name extensions that pick an output format
// when -o names a file and --format is not given.
var formatExtensions = []struct{ ext, format string }{
	{".svg", "svg"}, {".html", "html"}, {".htm", "html"}, {".pb.gz", "pb.gz"},
	{".pprof", "pb.gz"}, {".folded", "folded"}, {".json", "json"},
}

// profileFormats are the files a profile, or a trace's maps of stacks,
// can be written as.
var profileFormats = []string{"svg", "html", "pb.gz", "folded", "json"}

// outputFormat is the format to write: --format if given, else the one the
// extension of the -o file names, else def. It must be one of allowed.
func outputFormat(format, outFile, def string, allowed []string) (string, error) {
	if format == "" && outFile != "" {
		for _, e := range formatExtensions {
			if strings.HasSuffix(strings.ToLower(outFile), e.ext) {
				format = e.format
				break
			}
		}
		if format == "" {
			return "", usageError{msg: fmt.Sprintf("cannot tell the format of %q from its extension: use --format (%s)", outFile, strings.Join(allowed, ", "))}
		}
	}
	if format == "" {
		format = def
	}
	if !slices.Contains(allowed, format) {
		return "", usageError{msg: fmt.Sprintf("unknown output format %q (want %s)", format, strings.Join(allowed, ", "))}
	}
	return format, nil
}

// writeOutput runs write on standard output, or on the file outFile; a
// file that write fails on is removed rather than left half written.
func writeOutput(outFile string, stdout io.Writer, write func(io.Writer) error) error {
	if outFile == "" || outFile == "-" {
		w := bufio.NewWriterSize(stdout, 1<<16)
		if err := write(w); err != nil {
			return err
		}
		return w.Flush()
	}
	f, err := os.CreateTemp(filepath.Dir(outFile), "."+filepath.Base(outFile)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	w := bufio.NewWriterSize(f, 1<<16)
	if err := write(w); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), outFile)
}

// openInputs opens the files named, or standard input when there are none
// or for "-"; close closes those opened.
func openInputs(names []string, stdin io.Reader) (files []namedReader, close func(), err error) {
	if len(names) == 0 {
		names = []string{"-"}
	}
	var opened []*os.File
	close = func() {
		for _, f := range opened {
			f.Close()
		}
	}
	for _, n := range names {
		if n == "-" {
			files = append(files, namedReader{Reader: stdin, name: "<stdin>"})
			continue
		}
		f, err := os.Open(n)
		if err != nil {
			close()
			return nil, nil, err
		}
		opened = append(opened, f)
		files = append(files, namedReader{Reader: f, name: n})
	}
	return files, close, nil
}

type namedReader struct {
	io.Reader
	name string
	size int64 // of a regular file, 0 otherwise
}
